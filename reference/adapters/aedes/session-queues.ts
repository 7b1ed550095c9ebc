// L8, session overflow: while a persistent session is offline, Event Grid queues the QoS 1 messages
// for it, up to 100 messages or 1 MB; past that the session is terminated (life cycle reason
// SessionOverflow) and its name is free. The queue is counted where aedes stores it; when it has
// overflowed is Behaviour's queueOverflows (policy/limits.ts).
import type { ReferenceLimits } from '../../../eventgrid/namespace.ts';
import type { Behaviour, QueueUse } from '../../policy/behaviour.ts';

export interface SessionQueuesOptions {
  behaviour: Pick<Behaviour, 'queueOverflows'>;
  limits: ReferenceLimits;
  /** Whether the session of that name is held offline now (only its queue counts). */
  heldOffline(sessionName: string): boolean;
  /** Ends the session: it overflowed. */
  overflow(sessionName: string, use: QueueUse): void;
}

export class SessionQueues {
  private readonly use = new Map<string, QueueUse>();

  constructor(private readonly options: SessionQueuesOptions) {}

  /** aedes queued a message for these sessions: each QoS 1 one held offline counts it. */
  queued(subs: { clientId: string; qos: number }[], packet: { payload?: Buffer | string }): void {
    const size = packet.payload === undefined ? 0 : Buffer.byteLength(packet.payload);
    for (const { clientId, qos } of subs) if (qos > 0) this.count(clientId, size);
  }

  private count(sessionName: string, bytes: number): void {
    if (!this.options.heldOffline(sessionName)) return;
    const use = this.use.get(sessionName) ?? { messages: 0, bytes: 0 };
    use.messages += 1;
    use.bytes += bytes;
    this.use.set(sessionName, use);
    if (this.options.behaviour.queueOverflows(use, this.options.limits)) {
      this.use.delete(sessionName);
      this.options.overflow(sessionName, use);
    }
  }

  /** The owner is back (its queue is delivered) or the session ended: nothing is queued for it. */
  reset(sessionName: string): void {
    this.use.delete(sessionName);
  }
}
