// What aedes reads of a session as it accepts a CONNECT, read in the session store's two round trips
// instead of in turn after them (docs/scaling.md, "A CONNECT's round trips"). aedes 2.0.0-beta.1, once
// the CONNECT is decided, reads the session's subscriptions (aedes-persistence-redis: one HGETALL) and
// then subscribes the fan-out to each of their topics new to this instance (mqemitter-redis: a PSUBSCRIBE
// or SUBSCRIBE, awaited): two round trips in turn after the store's two.
//
// - The subscriptions aedes restores are read in the claim's step (its Lua script), right after the
//   claim: they are what the session has as this connection becomes its holder, as aedes' own read
//   after the claim would find them (only its holder changes them, and only the CONNECT's own wipes,
//   done before the claim, remove them). The step reads them only when the claim took a session no
//   connection held (a new one, or one held offline): one taken over from a live connection may still
//   change until that connection has ended, and aedes reads those itself.
// - The fan-out is subscribed ahead: the view's step reads the subscriptions of a session held offline
//   for the owner connecting without Clean Start (a Clean Start wipes them), and each topic is
//   subscribed at once (a listener that takes nothing), in parallel with the claim. aedes' own
//   subscription of a topic with a listener already is answered at once; its read is answered only once
//   the subscriptions made ahead are answered by Redis. A topic read ahead that the claim's read no
//   longer has is subscribed for nothing, for a moment; one it has that the view had not is subscribed
//   by aedes, in turn, as before.
// The reads ride inside the store's steps rather than beside them (a pipeline or a MULTI of their own):
// ioredis' auto-pipelining sends the requests of one connection in the order they are made, but writes
// a pipeline of its own at once, ahead of what it holds, so a CONNECT's view could have overtaken the
// end of a connection recorded just before it.
import { decodeSubscriptions, subscriptionsKey, type ReadsForAedes, type StoredSubscription } from './redis-persistence.ts';

/** What of aedes' fan-out (mqemitter-redis) is used here. */
export interface FanOut {
  on(topic: string, listener: (message: object, done: () => void) => void, callback?: () => void): unknown;
  removeListener(topic: string, listener: (message: object, done: () => void) => void, callback?: () => void): unknown;
}

/** How long a subscription made ahead is kept at most, should aedes never take the session's subscriptions (a CONNECT refused, or lost). */
const AHEAD_MS = 10_000;

/** The fan-out's subscriptions made ahead for a view: answered once Redis has answered them all. */
interface Ahead {
  answered: Promise<void>;
  release(): void;
}

/** The reads a CONNECT's view and claim carry (redis-session-store.ts makes them in its steps; redis-persistence.ts answers aedes from them). */
export class ConnectReads implements ReadsForAedes {
  /** Per session name: what its last claim here read, for the CONNECT that claimed it. */
  private readonly claimed = new Map<string, StoredSubscription[]>();
  /** Per session name: the fan-out's subscriptions made ahead for its last view here. */
  private readonly ahead = new Map<string, Ahead>();

  constructor(private readonly fanOut: FanOut) {}

  /** The key the store's view and claim read the session's subscriptions at. */
  subscriptionsKey(name: string): string {
    return subscriptionsKey(name);
  }

  /** The view found `name` held offline for the owner connecting: its subscriptions' topics are subscribed on the fan-out ahead. */
  viewedHeld(name: string, hash: Record<string, Buffer>): void {
    const topics = Object.keys(hash);
    if (topics.length === 0) return;
    // A listener of its own, removed once aedes has subscribed its own (or the CONNECT went nowhere).
    const taking = (_message: object, done: () => void) => done();
    let released = false;
    const ahead: Ahead = {
      answered: Promise.all(topics.map((topic) => new Promise<void>((resolve) => this.fanOut.on(topic, taking, resolve)))).then(() => {}),
      release: () => {
        if (released) return;
        released = true;
        clearTimeout(timer);
        if (this.ahead.get(name) === ahead) this.ahead.delete(name);
        for (const topic of topics) this.fanOut.removeListener(topic, taking);
      },
    };
    const timer = setTimeout(ahead.release, AHEAD_MS);
    timer.unref();
    this.ahead.get(name)?.release();
    this.ahead.set(name, ahead);
  }

  /** The claim of `name` took a session no connection held (`hash`: its subscriptions then), or did not (undefined). */
  claimedFree(name: string, hash: Record<string, Buffer> | undefined): void {
    if (hash) this.claimed.set(name, decodeSubscriptions(hash));
    else this.claimed.delete(name);
  }

  /** A connection of `name` here ended, or its subscriptions are changed here: what was read is no longer its state. */
  forget(name: string): void {
    this.claimed.delete(name);
  }

  /**
   * What `clientId`'s claim read, once (undefined: nothing read, aedes reads them itself), answered once
   * the fan-out's subscriptions made ahead for it are answered by Redis.
   */
  async take(clientId: string): Promise<StoredSubscription[] | undefined> {
    const read = this.claimed.get(clientId);
    this.claimed.delete(clientId);
    const ahead = this.ahead.get(clientId);
    if (ahead) {
      await ahead.answered;
      // aedes subscribes its own listeners in the turn it is handed the subscriptions: these go in the next.
      setImmediate(ahead.release);
    }
    return read;
  }
}
