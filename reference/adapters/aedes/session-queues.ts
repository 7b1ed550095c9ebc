// L8, session overflow: while a persistent session is offline, Event Grid queues the QoS 1 messages
// for it, up to 100 messages or 1 MB; past that the session is terminated (life cycle reason
// SessionOverflow) and its name is free. The queue is counted where aedes stores it, in counts the
// namespace's instances share (ports/namespace-tallies.ts): a queue filled from several instances
// overflows once, at its limit. When it has overflowed is Behaviour's queueOverflows (policy/limits.ts).
import type { ReferenceLimits } from '../../../eventgrid/namespace.ts';
import type { Behaviour, QueueUse } from '../../policy/behaviour.ts';
import type { QueueCounts } from '../../ports/namespace-tallies.ts';

/** The counts of one process: a namespace that is one instance. */
export class MemoryQueueCounts implements QueueCounts {
  private readonly use = new Map<string, QueueUse>();

  async add(sessionName: string, bytes: number): Promise<QueueUse | undefined> {
    const use = this.use.get(sessionName) ?? { messages: 0, bytes: 0 };
    use.messages += 1;
    use.bytes += bytes;
    this.use.set(sessionName, use);
    return { ...use };
  }

  async claimOverflow(sessionName: string): Promise<boolean> {
    return this.use.delete(sessionName);
  }

  async reset(sessionName: string): Promise<void> {
    this.use.delete(sessionName);
  }
}

export interface SessionQueuesOptions {
  behaviour: Pick<Behaviour, 'queueOverflows'>;
  limits: ReferenceLimits;
  counts: QueueCounts;
  /** Whether the session of that name is held offline now (only its queue counts). */
  heldOffline(sessionName: string): boolean;
  /** Ends the session: it overflowed. */
  overflow(sessionName: string, use: QueueUse): Promise<void>;
  log(line: string): void;
}

export class SessionQueues {
  constructor(private readonly options: SessionQueuesOptions) {}

  /** aedes queued a message for these sessions: each QoS 1 one held offline counts it. Settles when they are counted. */
  async queued(subs: { clientId: string; qos: number }[], packet: { payload?: Buffer | string }): Promise<void> {
    const size = packet.payload === undefined ? 0 : Buffer.byteLength(packet.payload);
    const counted = subs
      .filter(({ clientId, qos }) => qos > 0 && this.options.heldOffline(clientId))
      .map(({ clientId }) => this.count(clientId, size).catch((error: Error) => this.options.log(`the queue of session "${clientId}" could not be counted: ${error.message}`)));
    await Promise.all(counted);
  }

  private async count(sessionName: string, bytes: number): Promise<void> {
    const use = await this.options.counts.add(sessionName, bytes);
    if (!use) return;
    // Only the first to claim the overflow ends the session: counts past the limit from other messages, or
    // other instances, find it claimed.
    if (this.options.behaviour.queueOverflows(use, this.options.limits) && (await this.options.counts.claimOverflow(sessionName))) {
      await this.options.overflow(sessionName, use);
    }
  }

  /** The owner is back (its queue is delivered) or the session ended: nothing is queued for it. */
  reset(sessionName: string): void {
    this.options.counts.reset(sessionName).catch((error: Error) => this.options.log(`the queue count of session "${sessionName}" could not be reset: ${error.message}`));
  }
}
