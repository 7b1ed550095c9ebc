// The limits in the running reference broker: the disconnection reasons they produce in life cycle
// events (L4 with L8, L9, L11), and a namespace that lowers a limit in its `reference` section.
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttVersion } from '../rules/catalogue.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';

let t: TestBroker<ReferenceBroker>;
afterEach(async () => {
  await t?.stop();
});

function reasons(broker: TestBroker<ReferenceBroker>): string[] {
  const seen: string[] = [];
  broker.broker.events.on('event', (event) => {
    if (event.data.disconnectionReason) seen.push(`${event.data.clientSessionName} ${event.data.disconnectionReason}`);
  });
  return seen;
}

describe.each(['3.1.1', '5'] as MqttVersion[])('over MQTT %s', (version) => {
  const persistent = version === '5' ? { sessionExpiry: 3600 } : {};

  it('L8: an offline queue past its bound ends the session: SessionOverflow, name free, nothing kept', async () => {
    t = await startTestBroker(startReferenceBroker, { reference: { limits: { sessionQueueMessages: 3 } } });
    const seen = reasons(t);
    const owner = await t.open('alpha', 's1', version, persistent);
    await owner.subscribe('mmc/alpha/s1', 1);
    await owner.disconnect();
    const publisher = await t.open('observer', 'pub', version, { cleanStart: true });
    for (let i = 1; i <= 4; i += 1) await publisher.publish('mmc/alpha/s1', `m${i}`, 1);
    expect(seen).toContain('s1 SessionOverflow');
    expect(await t.broker.sessions.find('s1')).toBeUndefined();
    const back = await t.open('alpha', 's1', version, persistent);
    expect(back.sessionPresent).toBe(false);
    await back.subscribe('mmc/alpha/s1', 1);
    await publisher.publish('mmc/alpha/s1', 'after', 1);
    expect((await back.nextMessage('mmc/alpha/s1')).payload).toBe('after');
  });

  it('L9, L11: a QoS 2 PUBLISH and a PUBLISH to a 9-level topic end the connection: ClientError', async () => {
    t = await startTestBroker(startReferenceBroker);
    const seen = reasons(t);
    const one = await t.open('alpha', 'q2', version, { cleanStart: true });
    one.sendPublish('t/q2', 'x', 2);
    await one.ended;
    const two = await t.open('alpha', 'deep', version, { cleanStart: true });
    two.sendPublish('a/b/c/d/e/f/g/h/i', 'x', 1);
    await two.ended;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual(['q2 ClientError', 'deep ClientError']);
    expect(t.log.join('\n')).toMatch(/\[L9\][\s\S]*\[L11\]/);
  });
});
