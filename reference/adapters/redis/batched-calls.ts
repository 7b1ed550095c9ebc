// Calls to Redis made close together, sent as one command (a script that does each in turn). ioredis
// spends about 10 µs of CPU on each command it sends and answers, whatever its size, and a QoS 1
// message through a Redis instance made four of them (its queueing, its fan-out, its packet
// identifier at the send, its clearing at the PUBACK): a publisher's PUBLISHes read in one chunk, the
// PUBACKs a subscriber sent together, the messages sent in one turn, each share one command instead.

/** The most calls sent in one command: what comes after them starts the next one. */
const MOST = 256;

/**
 * Calls gathered until `schedule` runs the flush, then sent by `send` as one command, which answers
 * each call in order (or fails them all). Each call's answer comes once Redis answered the command;
 * calls are sent in the order they were made, and a flush sends its command before anything its
 * callers send afterwards.
 */
export class BatchedCalls<Call, Answer> {
  private calls: Call[] = [];
  private settles: { resolve(answer: Answer): void; reject(error: Error): void }[] = [];
  /** Settles once the calls gathered so far are sent (their command handed to ioredis, in order). */
  private sending?: { promise: Promise<void>; resolve(): void };

  /**
   * @param send Sends the calls as one command; answers one answer a call, in order.
   * @param schedule When the calls made so far go: at the end of this turn's microtasks (queueMicrotask:
   *   the default), or later (setImmediate gathers the calls of every callback of this turn).
   */
  constructor(
    private readonly send: (calls: Call[]) => Promise<Answer[]>,
    private readonly schedule: (flush: () => void) => void = queueMicrotask,
  ) {}

  /** Settles once every call made so far is sent, though not answered yet. */
  sent(): Promise<void> {
    return this.sending?.promise ?? Promise.resolve();
  }

  call(call: Call): Promise<Answer> {
    if (this.calls.length === 0) {
      let resolve!: () => void;
      const promise = new Promise<void>((settle) => (resolve = settle));
      this.sending = { promise, resolve };
      this.schedule(this.flush);
    }
    return new Promise<Answer>((resolve, reject) => {
      this.calls.push(call);
      this.settles.push({ resolve, reject });
      if (this.calls.length >= MOST) this.flush();
    });
  }

  private readonly flush = (): void => {
    if (this.calls.length === 0) return;
    const [calls, settles, sending] = [this.calls, this.settles, this.sending];
    this.calls = [];
    this.settles = [];
    this.sending = undefined;
    let sent: Promise<Answer[]>;
    try {
      sent = this.send(calls);
    } catch (error) {
      sent = Promise.reject(error as Error);
    }
    sending?.resolve();
    sent.then(
      (answers) => settles.forEach((settle, index) => settle.resolve(answers[index] as Answer)),
      (error: Error) => settles.forEach((settle) => settle.reject(error)),
    );
  };
}
