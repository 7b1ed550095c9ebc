// A QoS 1 PUBLISH is acknowledged only once its message is stored. aedes 2.0.0-beta.1 writes the PUBACK
// before it publishes the message (lib/handlers/publish.js), so with the sessions in Redis a kill -9
// right after a PUBACK lost the copies not yet queued there. Here each QoS 1 PUBLISH that reaches aedes
// holds its PUBACK on the connection's stream (outgoing-packets.ts) until aedes' `published` hook
// reports the message published (aedes calls it after storing the retained copy, queueing a copy for
// every matching persistent session with outgoingEnqueueCombi, and fanning it out) and the store then
// says that what was sent to it so far is written (`written`). The store may take the queueing and the
// fan-out as sent rather than written (redis-persistence.ts): aedes then goes on to the connection's
// next packet at once, and only the PUBACK waits.
import type { Aedes, Client, PublishPacket } from 'aedes';
import { takeIncoming } from './aedes-internals.ts';
import { OutgoingPackets } from './outgoing-packets.ts';

/** A PUBACK is never held longer: a store that does not answer must not stall the connection for ever. */
const LONGEST_HOLD_MS = 10_000;

type Published = NonNullable<NonNullable<ConstructorParameters<typeof Aedes>[0]>['published']>;

export class DurableAcks {
  /** Per connection, by packet identifier: what releases the PUBACK of a QoS 1 PUBLISH being published. */
  private readonly publishing = new WeakMap<Client, Map<number, () => void>>();

  /**
   * @param written Settles once everything sent to the store before the call is written; rejects when
   *   some of it could not be (the connection is then closed without the PUBACK: its client sends again).
   */
  constructor(private readonly written: () => Promise<void>) {}

  /** aedes' `published` hook (pass it to the broker's options). */
  readonly published: Published = (packet, client, done) => {
    const messageId = (packet as PublishPacket).messageId;
    const release = client && messageId !== undefined ? this.publishing.get(client)?.get(messageId) : undefined;
    if (release) this.written().then(release, () => client!.conn.destroy());
    done();
  };

  /** Holds the PUBACK of each QoS 1 PUBLISH this connection hands to aedes (install before the packet gate's take, so that a PUBLISH the gate answers itself is not held). */
  track(client: Client): void {
    const waiting = new Map<number, () => void>();
    this.publishing.set(client, waiting);
    takeIncoming(client, (packet) => {
      const publish = packet as { cmd?: string; qos?: number; messageId?: number };
      if (publish.cmd === 'publish' && publish.qos === 1 && publish.messageId !== undefined && !waiting.has(publish.messageId)) this.hold(client, waiting, publish.messageId);
      return false;
    });
  }

  private hold(client: Client, waiting: Map<number, () => void>, messageId: number): void {
    let release!: () => void;
    const stored = new Promise<void>((resolve) => {
      const timer = setTimeout(() => release(), LONGEST_HOLD_MS);
      release = () => {
        clearTimeout(timer);
        // Each held PUBACK's listener goes with it: a publisher's connection would otherwise gather one per message.
        client.conn.off('close', release);
        if (waiting.get(messageId) === release) waiting.delete(messageId);
        resolve();
      };
    });
    waiting.set(messageId, release);
    client.conn.once('close', release);
    OutgoingPackets.of(client.conn).holdNext('puback', client.version === 5 ? 5 : 4, (packetId) => (packetId === messageId ? stored : undefined));
  }
}
