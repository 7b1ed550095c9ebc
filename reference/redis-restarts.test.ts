// `npm run broker -- --redis URL` as processes, as a deployment runs it: two instances on distinct
// ports are one namespace (an intruder at one refused for a session live at the other, a takeover
// across them ending the older connection with 0x8E); SIGTERM sends MQTT 5 clients DISCONNECT 0x8B
// and exits with their sessions kept; QoS 1 messages queued for a session survive `kill -9` of every
// instance and are delivered once, with Session Present 1, by the instance started next.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPki } from '../certs/manifest.ts';
import { SessionClient, type SessionClientOptions } from '../mqtt-client/session-client.ts';
import { redisSkipNotice, REDIS_AVAILABLE, startRedis, type TestRedis } from '../testkit/redis-server.ts';

redisSkipNotice('reference/redis-restarts.test.ts');

const pki = loadPki(inject('pkiDir'));
let redis: TestRedis | undefined;
const processes: ChildProcess[] = [];
const clients: SessionClient[] = [];

beforeAll(async () => {
  if (REDIS_AVAILABLE) redis = await startRedis({ persistent: true });
});
afterAll(() => redis?.stop());
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  for (const child of processes.splice(0)) child.kill('SIGKILL');
});

interface Instance {
  child: ChildProcess;
  url: string;
  output(): string;
}

/** Starts `npm run broker -- --redis URL/db [--instances N]` on a free port; resolves once it (each worker) listens. */
async function instance(db: number, workers = 1): Promise<Instance> {
  const args = ['--import', 'tsx', 'reference/cli.ts', '--port', '0', '--ws-port', '0', '--pki', pki.dir, '--redis', `${redis!.url}/${db}`, '--instances', String(workers)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  processes.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const found = /listening on (mqtts:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (found && output.split('press Ctrl-C').length > workers) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${output}`)));
  });
  return { child, url, output: () => output };
}

async function connect(at: Instance, identityId: string, sessionName: string, options: Partial<SessionClientOptions> = {}) {
  const outcome = await SessionClient.connect({ url: at.url, ca: pki.rootCaPem, identity: pki.identities.get(identityId)!, sessionName, version: '5', timeoutMs: 5000, ...options });
  if (outcome.accepted) clients.push(outcome.client);
  return outcome;
}

async function open(at: Instance, identityId: string, sessionName: string, options: Partial<SessionClientOptions> = {}) {
  const outcome = await connect(at, identityId, sessionName, options);
  if (!outcome.accepted) throw new Error(`${identityId} refused ${sessionName}: ${outcome.code}`);
  return outcome.client;
}

async function kill9(at: Instance): Promise<void> {
  const exited = once(at.child, 'exit');
  at.child.kill('SIGKILL');
  await exited;
}

describe.skipIf(!REDIS_AVAILABLE)('broker processes on one Redis', () => {
  it('refuses an intruder at B for a session live at A, and ends A\'s connection with 0x8E when the owner reconnects at B', async () => {
    const [a, b] = await Promise.all([instance(1), instance(1)]);
    const first = await open(a, 'alpha', 's1', { sessionExpiry: 600 });
    expect(await connect(b, 'beta', 's1')).toMatchObject({ accepted: false, code: 0x87 });
    const second = await open(b, 'alpha', 's1', { sessionExpiry: 600 });
    expect(second.sessionPresent).toBe(true);
    expect((await first.ended).disconnectReasonCode).toBe(0x8e);
  }, 60_000);

  it('keeps every acknowledged QoS 1 message through kill -9 of both instances right after the last PUBACK, and delivers each once after a restart', async () => {
    const [a, b] = await Promise.all([instance(2), instance(2)]);
    const owner = await open(a, 'alpha', 's1', { sessionExpiry: 600 });
    await owner.subscribe('mmc/alpha/s1', 1);
    await owner.disconnect();
    const publisher = await open(b, 'observer', 'pub', { cleanStart: true });
    const sent = Array.from({ length: 50 }, (_, index) => `m${index + 1}`);
    // All in flight at once, and kill -9 the moment the last PUBACK is in: a PUBACK comes only once its
    // message is queued in Redis (durable-acks.ts; aedes alone acknowledges before it stores).
    await Promise.all(sent.map((payload) => publisher.publish('mmc/alpha/s1', payload, 1)));
    await Promise.all([kill9(a), kill9(b)]);
    const restarted = await instance(2);
    const resumed = await open(restarted, 'alpha', 's1', { sessionExpiry: 600 });
    expect(resumed.sessionPresent).toBe(true);
    const received: string[] = [];
    for (let i = 0; i < sent.length; i += 1) received.push((await resumed.nextMessage('mmc/alpha/s1')).payload);
    expect(received).toEqual(sent);
    // Nothing more: each was delivered once.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(resumed.pending().filter((message) => message.topic === 'mmc/alpha/s1')).toEqual([]);
  }, 60_000);

  it('--instances 2: two workers on one port are one namespace, and the connections are spread over both', async () => {
    const both = await instance(4, 2);
    // Two sessions each (the namespace's limit) of two identities.
    const names = ['a1', 'a2', 'o1', 'o2'];
    const owners = [];
    for (const name of names) owners.push(await open(both, name.startsWith('a') ? 'alpha' : 'observer', name, { sessionExpiry: 600 }));
    const accepted = both.output().split('\n').filter((line) => line.includes('accepted session'));
    expect(new Set(accepted.map((line) => /\[instance (\d+)\]/.exec(line)?.[1]))).toEqual(new Set(['1', '2']));
    // Wherever each lands, an intruder is refused every one of them.
    for (const name of names) expect(await connect(both, 'beta', name)).toMatchObject({ accepted: false, code: 0x87 });
    both.child.kill('SIGTERM');
    for (const owner of owners) expect((await owner.ended).disconnectReasonCode).toBe(0x8b);
    expect((await once(both.child, 'exit'))[0]).toBe(0);
  }, 60_000);

  it('on SIGTERM sends DISCONNECT 0x8B, exits, and the session resumes on the next instance', async () => {
    const a = await instance(3);
    const owner = await open(a, 'alpha', 's1', { sessionExpiry: 600 });
    await owner.subscribe('mmc/alpha/s1', 1);
    a.child.kill('SIGTERM');
    expect((await owner.ended).disconnectReasonCode).toBe(0x8b);
    const [code] = await once(a.child, 'exit');
    expect(code).toBe(0);
    const b = await instance(3);
    const resumed = await open(b, 'alpha', 's1', { sessionExpiry: 600 });
    expect(resumed.sessionPresent).toBe(true);
    const publisher = await open(b, 'observer', 'pub', { cleanStart: true });
    await publisher.publish('mmc/alpha/s1', 'after', 1);
    expect((await resumed.nextMessage('mmc/alpha/s1')).payload).toBe('after');
  }, 60_000);

  it("lives on when Redis is lost as a client's will is published (aedes' removal of the will fails)", async () => {
    const a = await instance(6);
    const willing = await open(a, 'alpha', 'w1', { sessionExpiry: 600, will: { topic: 'mmc/alpha/w1/gone', payload: 'gone', qos: 1 } });
    await willing.subscribe('mmc/alpha/w1', 1);
    await redis!.kill();
    try {
      // Dropped without a DISCONNECT: the broker publishes the will, then asks the store to remove it.
      willing.close();
      await expect.poll(() => a.output(), { timeout: 15_000 }).toContain('the store failed');
      expect(a.child.exitCode).toBeNull();
    } finally {
      await redis!.restart();
    }
  }, 60_000);

  it('on SIGTERM with Redis stalled (connections open, nothing answered), exits within its stop deadline, saying why', async () => {
    const a = await instance(7);
    await open(a, 'alpha', 's1', { sessionExpiry: 600 }).then((owner) => owner.subscribe('mmc/alpha/s1', 1));
    redis!.stall(true);
    try {
      const started = Date.now();
      a.child.kill('SIGTERM');
      const [code] = await once(a.child, 'exit');
      expect(code, a.output()).toBe(1);
      expect(Date.now() - started).toBeLessThan(25_000);
      expect(a.output()).toContain('had not stopped 15 s after the signal');
    } finally {
      redis!.stall(false);
    }
  }, 60_000);

  it('on SIGTERM with Redis gone, still sends DISCONNECT 0x8B and exits, within seconds', async () => {
    const a = await instance(5);
    const owner = await open(a, 'alpha', 's1', { sessionExpiry: 600 });
    // Its SUBACK comes once aedes has read the (empty) queue to resend: a Redis killed during that read
    // ends the connection, which then gets no DISCONNECT (seen in a CI run, where the CONNACK came first).
    await owner.subscribe('mmc/alpha/s1', 1);
    await redis!.kill();
    try {
      const started = Date.now();
      a.child.kill('SIGTERM');
      expect((await owner.ended).disconnectReasonCode).toBe(0x8b);
      // aedes-persistence-redis's end and mqemitter-redis's close waited for ever on connections that reconnect.
      const [code] = await once(a.child, 'exit');
      expect(code, a.output()).toBe(0);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(a.output()).toContain('the sessions held here could not be handed over');
    } finally {
      await redis!.restart();
    }
  }, 60_000);
});
