// Resuming a session (L2) with a CONNECT that gives the session no life beyond its connection: MQTT 5
// Clean Start 0 with no Session Expiry Interval (0). The session that exists is resumed, with what it
// had queued (Session Present 1); it then ends when this connection does [MQTT-3.1.2-11].
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

let t: TestBroker<ReferenceBroker>;
afterEach(async () => {
  await t?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('MQTT 5: resuming with Clean Start 0 and no Session Expiry Interval', () => {
  it('resumes the session with the messages it missed, keeps its subscription, and ends it with that connection', async () => {
    t = await startTestBroker(startReferenceBroker);
    const owner = await t.open('alpha', 's1', '5', { sessionExpiry: 60 });
    await owner.subscribe('mmc/alpha/s1', 1);
    await owner.disconnect();
    const publisher = await t.open('observer', 'pub', '5');
    await publisher.publish('mmc/alpha/s1', 'missed 1', 1);
    await publisher.publish('mmc/alpha/s1', 'missed 2', 1);
    // No sessionExpiry: the CONNECT carries no Session Expiry Interval property.
    const resumed = await t.open('alpha', 's1', '5', { cleanStart: false });
    expect(resumed.sessionPresent).toBe(true);
    expect((await resumed.nextMessage('mmc/alpha/s1')).payload).toBe('missed 1');
    expect((await resumed.nextMessage('mmc/alpha/s1')).payload).toBe('missed 2');
    await publisher.publish('mmc/alpha/s1', 'live', 1);
    expect((await resumed.nextMessage('mmc/alpha/s1')).payload).toBe('live');
    await resumed.disconnect();
    await sleep(100);
    expect(await t.broker.sessions.find('s1')).toBeUndefined();
    const after = await t.open('alpha', 's1', '5', { cleanStart: false, sessionExpiry: 60 });
    expect(after.sessionPresent).toBe(false);
    await publisher.publish('mmc/alpha/s1', 'to nobody', 1);
    await sleep(100);
    expect(after.pending()).toEqual([]);
  });

  it('the same with the Session Expiry Interval given as 0, after a lost connection', async () => {
    t = await startTestBroker(startReferenceBroker);
    const owner = await t.open('alpha', 's1', '5', { sessionExpiry: 60 });
    await owner.subscribe('mmc/alpha/s1', 1);
    await owner.drop();
    const publisher = await t.open('observer', 'pub', '5');
    await publisher.publish('mmc/alpha/s1', 'missed', 1);
    const resumed = await t.open('alpha', 's1', '5', { cleanStart: false, sessionExpiry: 0 });
    expect(resumed.sessionPresent).toBe(true);
    expect((await resumed.nextMessage('mmc/alpha/s1')).payload).toBe('missed');
  });
});
