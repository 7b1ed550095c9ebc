// The one way a step passes judgement on the target: what it expected and what it observed go to the
// report (rules.json, the console, cucumber.html), and a failure is a ConformanceFailure that says
// both, never a plain Error (which the suite keeps for its own bugs and misuse).
import { ConformanceFailure } from '../common/errors.ts';
import type { Observation } from '../report/scenarios.ts';
import type { ConformanceWorld } from './world.ts';

const expectedAndObserved = (observation: Observation) => `expected ${observation.expected}, got ${observation.observed}`;

/** Records an observation that fails the scenario, with `failure` (default: expected and observed) as its message. */
export function failObserved(world: ConformanceWorld, observation: Observation, failure = expectedAndObserved(observation)): never {
  world.observe(observation);
  throw new ConformanceFailure(failure);
}

/** Records the observation, and fails the scenario unless `holds`. */
export function expectObserved(world: ConformanceWorld, observation: Observation, holds: boolean, failure?: string): void {
  if (!holds) failObserved(world, observation, failure);
  world.observe(observation);
}
