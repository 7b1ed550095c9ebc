// Shared subscriptions (M3) on aedes, which has none (it refuses `$share` with 0x9E): each group is one
// subscription of the broker's own to the group's filter, and each message it receives goes to one of
// the group's members whose session is connected, chosen at random (SHARED: "load-balanced in a random
// manner"), or to every one under the M3 mutant. A member whose connection is gone takes no messages
// meanwhile; the group holds it until it leaves (UNSUBSCRIBE) or its session ends.
import type { Aedes } from 'aedes';
import type { Behaviour } from '../../policy/behaviour.ts';
import { sharedFilter } from '../../policy/shared-subscriptions.ts';
import { deliverToClient, liveClient, type QueuedPacket } from './aedes-internals.ts';

type Deliver = (packet: QueuedPacket & { qos: number; topic: string }, done: () => void) => void;

interface Group {
  filter: string;
  /** Member sessions by name, with the QoS each was granted. */
  members: Map<string, number>;
  deliver: Deliver;
}

export class SharedGroups {
  /** By group name and filter: `$share/{group}/{filter}`. */
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly broker: Aedes,
    private readonly behaviour: Behaviour,
  ) {}

  /** The session joins the group of this `$share/{group}/{filter}` (again: with the QoS it asks now). */
  join(sessionName: string, shared: string, qos: number): void {
    const parsed = sharedFilter(shared);
    if (!parsed) throw new Error(`not a shared subscription: ${shared}`);
    let group = this.groups.get(shared);
    if (!group) {
      const made: Group = { filter: parsed.filter, members: new Map(), deliver: (packet, done) => this.deliver(made, packet, done) };
      group = made;
      this.groups.set(shared, group);
      this.broker.subscribe(parsed.filter, group.deliver as never, () => {});
    }
    group.members.set(sessionName, qos);
  }

  /** The session leaves the group of this `$share/{group}/{filter}`, if it is in it. */
  leave(sessionName: string, shared: string): void {
    const group = this.groups.get(shared);
    if (!group?.members.delete(sessionName) || group.members.size > 0) return;
    this.groups.delete(shared);
    this.broker.unsubscribe(group.filter, group.deliver as never, () => {});
  }

  /** The session ended: it leaves every group. */
  forget(sessionName: string): void {
    for (const shared of [...this.groups.keys()]) this.leave(sessionName, shared);
  }

  private deliver(group: Group, packet: Parameters<Deliver>[0], done: () => void): void {
    const active = [...group.members].flatMap(([name, qos]) => {
      const client = liveClient(this.broker, name);
      return client ? [{ client, qos }] : [];
    });
    const chosen = this.behaviour.groupDelivery === 'every-member' ? active : active.slice(Math.floor(Math.random() * active.length)).slice(0, 1);
    let left = chosen.length;
    if (left === 0) return done();
    for (const { client, qos } of chosen) deliverToClient(this.broker, client, packet, qos, () => --left === 0 && done());
  }
}
