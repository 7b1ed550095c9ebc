// The run's tally of connections by instance, for a namespace served by several (TargetParameters.instances):
// the world counts into it, the runner reports it (report/instance-spread.ts).
import { InstanceSpread } from '../report/instance-spread.ts';

export const instanceTally = new InstanceSpread();
