// Shared subscriptions (M3) on the reference broker, where the suite's scenarios cannot look: a member
// taken over while a QoS 1 stream flows loses nothing, and a message for a group with no member
// connected waits in one member's session only.
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionClient } from '../mqtt-client/session-client.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';
import { mutatedBehaviour } from './policy/mutants.ts';

const TOPIC = 'mmc/alpha/stream';
const GROUP = `$share/workers/${TOPIC}`;

let t: TestBroker<ReferenceBroker>;
afterEach(async () => {
  await t?.stop();
});

/** The stream's payloads each client received, taken. */
function taken(clients: readonly SessionClient[]): string[] {
  return clients.flatMap((client) => client.pending().filter((message) => message.topic === TOPIC).map((message) => String(message.payload)));
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('a shared group (M3)', () => {
  it('a member taken over while a QoS 1 stream flows: every message reaches the group, none lost', async () => {
    t = await startTestBroker(startReferenceBroker);
    const members = [await t.open('alpha', 'w1', '5', { sessionExpiry: 60 }), await t.open('alpha', 'w2', '5', { sessionExpiry: 60 })];
    for (const member of members) expect(await member.subscribeCode(GROUP, 1)).toBe(1);
    const publisher = await t.open('observer', 'publisher', '5', { cleanStart: true, sessionExpiry: 0 });
    const count = 200;
    const sent: Promise<void>[] = [];
    for (let index = 1; index <= count; index += 1) {
      sent.push(publisher.publish(TOPIC, `m${index}`, 1));
      // Midway, the owner takes session w1 over from a new connection (S8): the old one is ended.
      if (index === count / 2) members.push(await t.open('alpha', 'w1', '5', { sessionExpiry: 60 }));
    }
    await Promise.all(sent);
    const expected = Array.from({ length: count }, (_, index) => `m${index + 1}`);
    await until(() => new Set(taken(members)).size === count, 10_000);
    const received = new Set(taken(members));
    expect(expected.filter((payload) => !received.has(payload))).toEqual([]);
    // The connection taken over got some of the stream before it was ended, the new one some after.
    expect(taken([members[0]!]).length).toBeGreaterThan(0);
    expect(taken([members[2]!]).length).toBeGreaterThan(0);
  });

  // Under the M3.offline mutant the messages are dropped: the same test gets none.
  it.each([
    ['waits in one member\'s session: resumed, the two get it once between them', false],
    ['is dropped under the M3.offline mutant', true],
  ])('with no member connected, a message %s', async (_, mutated) => {
    t = await startTestBroker(startReferenceBroker, {}, mutated ? { behaviour: mutatedBehaviour(['M3.offline']) } : {});
    for (const name of ['w1', 'w2']) {
      const member = await t.open('alpha', name, '5', { sessionExpiry: 60 });
      expect(await member.subscribeCode(GROUP, 1)).toBe(1);
      await member.disconnect();
    }
    const publisher = await t.open('observer', 'publisher', '5', { cleanStart: true, sessionExpiry: 0 });
    for (let index = 1; index <= 20; index += 1) await publisher.publish(TOPIC, `m${index}`, 1);
    const resumed = [await t.open('alpha', 'w1', '5', { sessionExpiry: 60 }), await t.open('alpha', 'w2', '5', { sessionExpiry: 60 })];
    await until(() => taken(resumed).length >= 20, mutated ? 500 : 5000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const received = taken(resumed);
    expect(received.sort()).toEqual(mutated ? [] : Array.from({ length: 20 }, (_, index) => `m${index + 1}`).sort());
  });
});
