// S4 under each reading the namespace's `reference.emptyClientId` selects: "refused" (the default) turns
// an empty ClientID away over both versions; "assigned" gives an MQTT 5 CONNECT a session name of its
// own, sent back as the Assigned Client Identifier, and still refuses MQTT 3.1.1.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

let t: TestBroker<ReferenceBroker>;
afterEach(async () => {
  await t?.stop();
});

describe('S4: an empty ClientID', () => {
  it('is refused over both versions by default: 0x85 / 2', async () => {
    t = await startTestBroker(startReferenceBroker);
    const five = await t.connect('alpha', '', '5', { cleanStart: true });
    const three = await t.connect('alpha', '', '3.1.1', { cleanStart: true });
    expect([five.accepted ? 'accepted' : five.code, three.accepted ? 'accepted' : three.code]).toEqual([0x85, 2]);
  });

  it('under "assigned", gets an MQTT 5 session named by the namespace, a usable one, and still refuses MQTT 3.1.1', async () => {
    t = await startTestBroker(startReferenceBroker, { reference: { emptyClientId: 'assigned' } });
    const first = await t.open('alpha', '', '5', { cleanStart: true });
    const second = await t.open('alpha', '', '5', { cleanStart: true });
    const names = [first.connackProperties.assignedClientIdentifier, second.connackProperties.assignedClientIdentifier];
    expect(names.every((name) => typeof name === 'string' && name.length > 0)).toBe(true);
    expect(names[0]).not.toBe(names[1]);
    expect(await t.broker.sessions.find(names[0] as string)).toBeDefined();
    await first.subscribe('mmc/alpha/assigned', 1);
    await second.publish('mmc/alpha/assigned', 'to the assigned session', 1);
    expect((await first.nextMessage('mmc/alpha/assigned')).payload).toBe('to the assigned session');
    const three = await t.connect('alpha', '', '3.1.1', { cleanStart: true });
    expect(three.accepted ? 'accepted' : three.code).toBe(2);
  });
});
