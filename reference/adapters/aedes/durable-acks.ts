// A QoS 1 PUBLISH is acknowledged only once its message is stored. aedes 2.0.0-beta.1 writes the PUBACK
// before it publishes the message (lib/handlers/publish.js), so with the sessions in Redis a kill -9
// right after a PUBACK lost the copies not yet queued there. Here each QoS 1 PUBLISH that reaches aedes
// holds its PUBACK on the connection's stream (outgoing-packets.ts) until aedes' `published` hook
// reports the message published (aedes calls it after storing the retained copy, queueing a copy for
// every matching persistent session with outgoingEnqueueCombi, and fanning it out) and the store then
// says that what was sent to it so far is written (`written`). The store may take the queueing and the
// fan-out as sent rather than written (redis-persistence.ts): aedes then goes on to the connection's
// next packet at once, and only the PUBACK waits.
//
// A PUBLISH aedes' own authorizePublish refuses (MQTT 5: PUBACK 0x87; the packet gate has judged it
// before, so only a mutant of the gate lets one through) publishes nothing and so reaches no `published`:
// its PUBACK is let go as aedes refuses it, rather than held until the connection ends for want of a store.
//
// This is on the path of every QoS 1 PUBLISH, and its cost was most of what a message cost the broker
// over what it costs in memory: the messages published in one turn wait for one `written`, and a
// connection has one timer and one close listener for all its held PUBACKs, not one of each a message.
import type { Aedes, Client, PublishPacket } from 'aedes';
import { takeIncoming } from './aedes-internals.ts';
import { OutgoingPackets } from './outgoing-packets.ts';

/**
 * A store that has not written a message in this long ends its connection without the PUBACK (its client
 * sends the message again): a PUBACK is for a stored message only, and a connection is not stalled for ever.
 */
const LONGEST_HOLD_MS = 10_000;

type Published = NonNullable<NonNullable<ConstructorParameters<typeof Aedes>[0]>['published']>;

/** A held PUBACK: what releases it, and since when it is held. */
interface Hold {
  release(): void;
  since: number;
}

/** One connection's held PUBACKs, by packet identifier, oldest first. */
class HeldAcks {
  private readonly held = new Map<number, Hold>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly client: Client) {
    // A connection that ends releases what it held (nothing more goes out on it).
    client.conn.once('close', () => this.releaseAll());
  }

  /** The hold of `messageId`'s PUBACK, while it is held. */
  find(messageId: number): Hold | undefined {
    return this.held.get(messageId);
  }

  /** The PUBACK of `messageId` goes out once release(messageId, its hold) is called. */
  hold(messageId: number): void {
    const stored = new Promise<void>((resolve) => this.held.set(messageId, { release: resolve, since: Date.now() }));
    this.timer ??= setTimeout(this.endIfOverdue, LONGEST_HOLD_MS);
    OutgoingPackets.of(this.client.conn).holdPuback(messageId, stored);
  }

  /** Releases `hold`, if it still holds `messageId`'s PUBACK (not a later one's, the identifier used again). */
  release(messageId: number, hold: Hold): void {
    if (this.held.get(messageId) !== hold) return;
    this.held.delete(messageId);
    hold.release();
  }

  /** The store could not write a message of this connection's: it ends without the PUBACK (its client sends again). */
  destroy(): void {
    this.client.conn.destroy();
  }

  /** Ends the connection if its oldest hold is LONGEST_HOLD_MS old, else waits for that one. */
  private readonly endIfOverdue = (): void => {
    this.timer = undefined;
    const oldest = this.held.values().next().value;
    if (!oldest) return;
    const left = oldest.since + LONGEST_HOLD_MS - Date.now();
    if (left <= 0) this.destroy();
    else this.timer = setTimeout(this.endIfOverdue, left);
  };

  private releaseAll(): void {
    clearTimeout(this.timer);
    for (const [messageId, hold] of [...this.held]) this.release(messageId, hold);
  }
}

export class DurableAcks {
  private readonly connections = new WeakMap<Client, HeldAcks>();
  /** The messages reported published in this turn, by connection: released together once written. */
  private publishedNow: { held: HeldAcks; messageId: number; hold: Hold }[] = [];

  /**
   * @param written Settles once everything sent to the store before the call is written; rejects when
   *   some of it could not be (the connection is then closed without the PUBACK: its client sends again).
   */
  constructor(private readonly written: () => Promise<void>) {}

  /** aedes' `published` hook (pass it to the broker's options). */
  readonly published: Published = (packet, client, done) => {
    const found = this.holdOf(client, (packet as PublishPacket).messageId);
    if (found) {
      // What aedes sent the store for the messages of this turn is sent by the end of it (batched-calls.ts).
      if (this.publishedNow.length === 0) queueMicrotask(this.releaseWhenWritten);
      this.publishedNow.push(found);
    }
    done();
  };

  /** Lets go the PUBACK of a PUBLISH aedes' authorizePublish refuses (it has no message to store), whatever else wraps that hook. */
  attach(broker: Pick<Aedes, 'authorizePublish'>): void {
    const authorize = broker.authorizePublish.bind(broker);
    broker.authorizePublish = (client, packet, callback) =>
      authorize(client, packet, (error) => {
        const found = error ? this.holdOf(client, packet.messageId) : undefined;
        found?.held.release(found.messageId, found.hold);
        callback(error);
      });
  }

  /** The hold of a client's PUBACK of `messageId`, while it is held. */
  private holdOf(client: Client | null | undefined, messageId: number | undefined): { held: HeldAcks; messageId: number; hold: Hold } | undefined {
    const held = client ? this.connections.get(client) : undefined;
    const hold = held && messageId !== undefined ? held.find(messageId) : undefined;
    return hold ? { held: held!, messageId: messageId!, hold } : undefined;
  }

  /** Holds the PUBACK of each QoS 1 PUBLISH this connection hands to aedes (install before the packet gate's take, so that a PUBLISH the gate answers itself is not held). */
  track(client: Client): void {
    const held = new HeldAcks(client);
    this.connections.set(client, held);
    takeIncoming(client, (packet) => {
      const publish = packet as { cmd?: string; qos?: number; messageId?: number };
      if (publish.cmd === 'publish' && publish.qos === 1 && publish.messageId !== undefined && !held.find(publish.messageId)) held.hold(publish.messageId);
      return false;
    });
  }

  private readonly releaseWhenWritten = (): void => {
    const published = this.publishedNow;
    this.publishedNow = [];
    this.written().then(
      () => published.forEach(({ held, messageId, hold }) => held.release(messageId, hold)),
      () => published.forEach(({ held }) => held.destroy()),
    );
  };
}
