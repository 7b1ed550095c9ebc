// The writes an instance sends Redis without waiting for them: a message's queueing and its fan-out
// (redis-persistence.ts, shared-namespace.ts). aedes goes on as soon as they are sent; a QoS 1
// PUBLISH's PUBACK waits until they are written (durable-acks.ts).

/** Writes sent without waiting, and what became of them. */
export class WritesInFlight {
  /** Settles once every write added so far is answered (never rejects). */
  private all: Promise<unknown> = Promise.resolve();
  private failures = 0;

  /** @param failed Told of each write that failed. */
  constructor(private readonly failed: (error: Error) => void) {}

  /** A write just sent: its failure is counted and told. */
  add(write: Promise<unknown>): void {
    const answered = write.then(undefined, (error: Error) => {
      this.failures += 1;
      this.failed(error);
    });
    // Each write is waited for, not only the last one sent: a script Redis did not have (NOSCRIPT) is
    // sent again by ioredis, behind what was sent after it.
    this.all = Promise.all([this.all, answered]);
  }

  /** Settles once every write added before the call is answered; rejects if a write failed meanwhile. */
  async written(): Promise<void> {
    const before = this.failures;
    await this.all;
    if (this.failures !== before) throw new Error('a message could not be written to Redis');
  }
}
