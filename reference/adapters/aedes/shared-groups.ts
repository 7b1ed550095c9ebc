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
//
// Instances of one namespace (--redis) each receive the group's messages for their own members; the
// members are listed in the namespace's directory (ports/namespace-tallies.ts), and every instance
// picks the same one for a message, from a hash of the message's id among the members connected
// anywhere: only the instance holding that member's connection delivers it.
import { createHash } from 'node:crypto';
import type { Aedes } from 'aedes';
import type { Behaviour } from '../../policy/behaviour.ts';
import type { GroupDirectory } from '../../ports/namespace-tallies.ts';
import { sharedFilter } from '../../policy/shared-subscriptions.ts';
import { deliverToClient, enqueueForSession, liveClient, retainedMessages, type QueuedPacket } from './aedes-internals.ts';

/** A message's id at every instance: the publishing broker and its count, carried through the fan-out. */
const messageId = (packet: object): string => {
  const { brokerId, brokerCounter } = packet as { brokerId?: string; brokerCounter?: number };
  return `${brokerId}/${brokerCounter}`;
};

const NONE_CONNECTED = Symbol('no member connected');

type Deliver = (packet: QueuedPacket & { qos: number; topic: string }, done: () => void) => void;

interface Group {
  /** `$share/{group}/{filter}`. */
  shared: string;
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
    /** The namespace's directory of members, when other instances serve the namespace too. */
    private readonly directory?: GroupDirectory,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** The session joins the group of this `$share/{group}/{filter}` (again: with the QoS it asks now). */
  join(sessionName: string, shared: string, qos: number): void {
    const parsed = sharedFilter(shared);
    if (!parsed) throw new Error(`not a shared subscription: ${shared}`);
    let group = this.groups.get(shared);
    if (!group) {
      // A message forwarded to a group is a live one: RETAIN 0 (MQTT 5 3.3.1.3; a group has no Retain
      // As Published), even when it was published retained and reaches a member that just joined.
      const made: Group = { shared, filter: parsed.filter, members: new Map(), deliver: (packet, done) => this.deliver(made, { ...packet, retain: false }, done) };
      group = made;
      this.groups.set(shared, group);
      this.broker.subscribe(parsed.filter, group.deliver as never, () => {});
    }
    group.members.set(sessionName, qos);
    this.directory?.join(shared, sessionName).catch((error: Error) => this.log(`session "${sessionName}" could not join ${shared} in the namespace: ${error.message}`));
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
    if (!group?.members.delete(sessionName)) return;
    this.directory?.leave(shared, sessionName).catch((error: Error) => this.log(`session "${sessionName}" could not leave ${shared} in the namespace: ${error.message}`));
    if (group.members.size > 0) return;
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
      return client ? [{ name, client, qos }] : [];
    });
    if (this.directory && this.behaviour.groupDelivery !== 'every-member') {
      this.chooseInNamespace(group, packet)
        .then((name) => (name === NONE_CONNECTED ? this.holdOnce(group, packet, done) : this.deliverTo(active.filter((member) => member.name === name), packet, done)))
        .catch((error: Error) => {
          this.log(`a message of ${group.filter} could not be given to a member of its group: ${error.message}`);
          done();
        });
      return;
    }
    if (active.length === 0) return this.hold(group, packet, done);
    this.deliverTo(this.choose(active), packet, done);
  }

  /** No member connected at any instance: the first instance to claim the message holds it for a member. */
  private holdOnce(group: Group, packet: Parameters<Deliver>[0], done: () => void): void {
    this.directory!.claimMessage(group.shared, messageId(packet))
      .then((first) => (first ? this.hold(group, packet, done) : done()))
      .catch((error: Error) => {
        this.log(`a message of ${group.filter} could not be held for a member of its group: ${error.message}`);
        done();
      });
  }

  /**
   * The member, among those connected at any instance, that every instance picks for this message: its
   * id (the publishing broker and its count, carried through the fan-out) hashed, modulo their number;
   * undefined when it is connected elsewhere, NONE_CONNECTED when none is.
   */
  private async chooseInNamespace(group: Group, packet: Parameters<Deliver>[0]): Promise<string | typeof NONE_CONNECTED | undefined> {
    const members = await this.directory!.connectedMembers(group.shared);
    if (members.length === 0) return NONE_CONNECTED;
    const hash = createHash('sha1').update(messageId(packet)).digest().readUInt32BE(0);
    const chosen = members[hash % members.length]!;
    return chosen.local ? chosen.name : undefined;
  }

  private deliverTo(chosen: readonly { client: Parameters<typeof deliverToClient>[1]; qos: number }[], packet: Parameters<Deliver>[0], done: () => void): void {
    let left = chosen.length;
    // The member chosen is connected at another instance, which delivers it.
    if (left === 0) return done();
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
