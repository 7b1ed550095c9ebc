// The Redis round trips a CONNECT waits for in turn before its CONNACK, measured: a broker instance
// reaches Redis through a relay that holds each of Redis's answers for a set time, so that a CONNECT
// takes that time once more per round trip it waits for in turn (requests sent together share one).
// The count is the least CONNECT time with the delay less the least without it, in delays: what the
// TLS handshake and the broker's own work take cancels out, and a busy machine only adds to a time.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SecureContext } from 'node:tls';
import { startRelay } from '../testkit/tcp-relay.ts';
import { leanConnect } from './lean-client.ts';

export interface RoundTripsInTurn {
  /** A new persistent session (Session Expiry 60 s, Clean Start 0). */
  fresh: number;
  /** A session held offline with a subscription, resumed at the instance (its topic has no listener there). */
  resumed: number;
}

/** How long the relay holds each answer. */
const DELAY_MS = 100;
/** CONNECTs of each kind with and without the delay: the least time stands. */
const TRIES = 5;

/**
 * `start` starts a broker instance on the Redis at the URL it is given (the relay's) and answers its
 * MQTT URL and how to stop it; alpha's `context` connects.
 */
export async function roundTripsInTurn(redisUrl: string, start: (redisUrl: string) => Promise<{ url: string; stop(): Promise<void> }>, context: SecureContext): Promise<RoundTripsInTurn> {
  const relay = await startRelay(redisUrl, 'delay');
  const instance = await start(relay.url);
  const connect = (clientId: string, subscribe?: string) => leanConnect({ url: instance.url, context, username: 'alpha', clientId, expirySeconds: 60, ...(subscribe ? { subscribe } : {}) });
  /** The least CONNECT time with the relay's delay at `delayMs`; `before` readies each try's session (without the delay). */
  const least = async (kind: string, delayMs: number, before?: (clientId: string) => Promise<unknown>) => {
    const times: number[] = [];
    for (let index = 0; index < TRIES; index += 1) {
      const clientId = `in-turn-${kind}-${delayMs}-${index}`;
      relay.delayMs = 0;
      if (before) {
        await before(clientId);
        // The store takes the end of that connection before the CONNECT is timed.
        await sleep(100);
      }
      relay.delayMs = delayMs;
      times.push(await connect(clientId));
      // The end of the connection is recorded (its store step, then the next expiry's) before the next
      // try: a request already in flight on the store's connection holds a CONNECT's back (ioredis'
      // auto-pipelining sends one batch at a time), which is not what is counted here.
      await sleep(3 * delayMs);
    }
    relay.delayMs = 0;
    return Math.min(...times);
  };
  const inTurn = async (kind: string, before?: (clientId: string) => Promise<unknown>) => Math.round(((await least(kind, DELAY_MS, before)) - (await least(kind, 0, before))) / DELAY_MS);
  try {
    await connect('in-turn-warm-up', 'mmc/alpha/in-turn-warm-up');
    return {
      fresh: await inTurn('fresh'),
      resumed: await inTurn('resumed', (clientId) => connect(clientId, `mmc/alpha/${clientId}`)),
    };
  } finally {
    await instance.stop();
    await relay.stop();
  }
}
