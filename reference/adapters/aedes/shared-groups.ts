// Shared subscriptions (M3) on aedes, which has none (it refuses `$share` with 0x9E): each group is one
// subscription of the broker's own to the group's filter, and each message it receives goes to one of
// the group's members whose session is connected, chosen at random (SHARED: "load-balanced in a random
// manner"), or to every one under the M3 mutant. A member whose connection is gone takes no messages
// while another is connected; the group holds it until it leaves (UNSUBSCRIBE) or its session ends.
// With no member connected, a QoS 1 message waits in one held member's session, chosen at random, and
// is sent when it resumes (SHARED: "persistent sessions improve reliability"); a QoS 0 one is dropped.
// A message given a member stays in its session until acknowledged, as any QoS 1 message does, so a
// member taken over or reconnecting gets it again. A session joining a group is sent no retained message
// (MQTT 5 4.8.2), unless a mutant has it sent them.
import type { Aedes } from 'aedes';
import type { Behaviour } from '../../policy/behaviour.ts';
import { sharedFilter } from '../../policy/shared-subscriptions.ts';
import { deliverToClient, enqueueForSession, liveClient, retainedMessages, type QueuedPacket } from './aedes-internals.ts';

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
    if (this.behaviour.retainedOnJoin) void this.sendRetained(sessionName, parsed.filter, qos);
  }

  /** The M3.retained mutant: the filter's retained messages, as a plain subscription gets them. */
  private async sendRetained(sessionName: string, filter: string, qos: number): Promise<void> {
    for await (const packet of retainedMessages(this.broker, filter)) {
      const client = liveClient(this.broker, sessionName);
      if (client) deliverToClient(this.broker, client, { ...packet, retain: true }, qos, () => {});
    }
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
    if (active.length === 0) return this.hold(group, packet, done);
    const chosen = this.choose(active);
    let left = chosen.length;
    for (const { client, qos } of chosen) deliverToClient(this.broker, client, packet, qos, () => --left === 0 && done());
  }

  /** One of the members, at random; or every one under the M3 mutant. */
  private choose<Member>(members: readonly Member[]): readonly Member[] {
    if (this.behaviour.groupDelivery === 'every-member') return members;
    return members.slice(Math.floor(Math.random() * members.length)).slice(0, 1);
  }

  /** No member is connected: a QoS 1 message waits in a held member's session (those granted QoS 1). */
  private hold(group: Group, packet: Parameters<Deliver>[0], done: () => void): void {
    const held = [...group.members].filter(([, qos]) => qos > 0);
    if (packet.qos === 0 || held.length === 0 || !this.behaviour.queuesForHeldMembers) return done();
    Promise.all(this.choose(held).map(([name, qos]) => enqueueForSession(this.broker, name, packet, qos))).then(() => done(), done);
  }
}
