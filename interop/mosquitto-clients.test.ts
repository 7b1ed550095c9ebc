// Debian's mosquitto_sub and mosquitto_pub (package mosquitto-clients) against the reference broker,
// MQTT 5 and 3.1.1, authenticating with the PKI's certificates over mutual TLS (`--cafile --cert --key
// -u <authenticationName> -i <session>`): each flow is read from the clients' own output (`-d` for the
// packets, `-F %j` for the messages, the exit code) and must show what Event Grid would give them.
// Skipped, saying so, where mosquitto-clients is not installed. Each test starts its own broker.
import { describe, expect, it } from 'vitest';
import {
  MOSQUITTO_PUB,
  MOSQUITTO_SUB,
  mosquittoObservations,
  mosquittoPub,
  mosquittoSub,
  type Version,
} from './real-clients.ts';
import { useReferenceBroker } from './reference-target.ts';

const AVAILABLE = MOSQUITTO_SUB !== undefined && MOSQUITTO_PUB !== undefined;
if (!AVAILABLE) console.log('interop/mosquitto-clients.test.ts: skipped: mosquitto_sub/mosquitto_pub are not installed (Debian: apt-get install mosquitto-clients)');

const start = useReferenceBroker();

/** Event Grid's codes for this flow, by version. */
const CODES = {
  '5': { notAuthorized: 0x87, refusedFilter: 0x87 },
  '3.1.1': { notAuthorized: 5, refusedFilter: 0x80 },
} as const;

const firstMessage = /^\{"tst":/;
const subscribed = /^Subscribed \(mid/;

describe.skipIf(!AVAILABLE)('mosquitto_sub and mosquitto_pub against the reference broker', () => {
  describe.each(['5', '3.1.1'] as Version[])('over MQTT %s', (version) => {
    const v5 = version === '5';
    // A persistent session: clean session off, and in MQTT 5 an expiry (mosquitto's -c alone asks for
    // one that never ends, which the broker caps).
    const persistent = v5 ? ['-c', '-x', '300'] : ['-c'];

    it('publish and subscribe: QoS 2 asked, QoS 1 granted; a QoS 1 message arrives as sent; PUBACK 0', async () => {
      const { port, files } = await start();
      const sub = mosquittoSub(port, files('alpha'), 'reader', version, ['-t', 'mmc/alpha/#', '-q', '2', '-C', '1', '-W', '8']);
      await sub.line(subscribed);
      const userProperty = v5 ? ['-D', 'publish', 'user-property', 'origin', 'mosquitto_pub'] : [];
      const pub = await mosquittoPub(port, files('alpha'), 'writer', version, ['-t', 'mmc/alpha/greeting', '-m', 'hello', '-q', '1', ...userProperty]);
      expect(pub.exit.code, pub.lines.join('\n')).toBe(0);
      expect(mosquittoObservations(pub.lines)).toMatchObject({ connacks: [0], pubacks: [0], disconnects: [] });

      expect((await sub.ended()).code, sub.lines.join('\n')).toBe(0);
      const seen = mosquittoObservations(sub.lines);
      expect(seen).toMatchObject({ connacks: [0], subacks: [[1]], disconnects: [] });
      expect(seen.publishes).toEqual([{ dup: 0, qos: 1, retain: 0, topic: 'mmc/alpha/greeting' }]);
      expect(seen.messages).toEqual([
        expect.objectContaining({ topic: 'mmc/alpha/greeting', qos: 1, retain: 0, payload: 'hello', ...(v5 ? { properties: { 'user-properties': { origin: 'mosquitto_pub' } } } : {}) }),
      ]);
    });

    it(`another client's topic: its PUBLISH is refused (${v5 ? 'PUBACK 0x87, connection kept' : 'connection closed'}) and not delivered, its SUBSCRIBE gets ${v5 ? '0x87' : '0x80'}`, async () => {
      const { port, files } = await start();
      const sub = mosquittoSub(port, files('alpha'), 'reader', version, ['-t', 'mmc/alpha/#', '-q', '1', '-C', '1', '-W', '8']);
      await sub.line(subscribed);

      const intruder = await mosquittoPub(port, files('beta'), 'intruder', version, ['-t', 'mmc/alpha/greeting', '-m', 'not yours', '-q', '1']);
      const intruderSaw = mosquittoObservations(intruder.lines);
      expect(intruderSaw.connacks).toEqual([0]);
      if (v5) {
        expect(intruderSaw.pubacks, intruder.lines.join('\n')).toEqual([CODES[version].notAuthorized]);
        expect(intruder.lines.join('\n')).toMatch(/Publish 1 failed: Not authorized/);
      } else {
        expect(intruderSaw.pubacks).toEqual([]);
        expect(intruder.exit.code).not.toBe(0);
        expect(intruder.lines.join('\n')).toMatch(/connection was lost/);
      }

      // The observer may publish there: the reader's one message is the observer's, not the intruder's.
      const observer = await mosquittoPub(port, files('observer'), 'observer', version, ['-t', 'mmc/alpha/greeting', '-m', 'from observer', '-q', '1']);
      expect(mosquittoObservations(observer.lines).pubacks, observer.lines.join('\n')).toEqual([0]);
      expect(observer.exit.code).toBe(0);
      await sub.ended();
      expect(mosquittoObservations(sub.lines).messages.map((message) => message.payload)).toEqual(['from observer']);

      const subscriber = mosquittoSub(port, files('beta'), 'subscriber', version, ['-t', 'mmc/alpha/greeting', '-t', 'mmc/beta/own', '-q', '1', '-E', '-W', '5']);
      expect((await subscriber.ended()).code, subscriber.lines.join('\n')).toBe(0);
      expect(mosquittoObservations(subscriber.lines).subacks).toEqual([[CODES[version].refusedFilter, 1]]);
    });

    it('a will: published, with its QoS, when the connection ends with no DISCONNECT; not after a DISCONNECT', async () => {
      const { port, files } = await start();
      const watcher = mosquittoSub(port, files('alpha'), 'watcher', version, ['-t', 'mmc/alpha/will', '-q', '1', '-C', '1', '-W', '8']);
      await watcher.line(subscribed);
      const will = (payload: string) => [
        ...['--will-topic', 'mmc/alpha/will', '--will-payload', payload, '--will-qos', '1'],
        ...(v5 ? ['-D', 'will', 'user-property', 'origin', 'will'] : []),
      ];

      // Ends with DISCONNECT 0: its will is discarded.
      const polite = mosquittoSub(port, files('alpha'), 'polite', version, ['-t', 'mmc/alpha/none', '-E', '-W', '5', ...will('polite')]);
      expect((await polite.ended()).code, polite.lines.join('\n')).toBe(0);
      // Killed: the kernel closes its connection, with no DISCONNECT.
      const dropped = mosquittoSub(port, files('alpha'), 'dropped', version, ['-t', 'mmc/alpha/none', '-W', '8', ...will('gone')]);
      await dropped.line(subscribed);
      await dropped.kill();

      expect((await watcher.ended()).code, watcher.lines.join('\n')).toBe(0);
      const seen = mosquittoObservations(watcher.lines);
      expect(seen.publishes).toEqual([{ dup: 0, qos: 1, retain: 0, topic: 'mmc/alpha/will' }]);
      expect(seen.messages).toEqual([
        expect.objectContaining({ topic: 'mmc/alpha/will', payload: 'gone', ...(v5 ? { properties: { 'user-properties': { origin: 'will' } } } : {}) }),
      ]);
    });

    it(`a takeover: the same identity and ClientID again ends the older connection${v5 ? ' with DISCONNECT 0x8E' : ''}; the newer one gets the session's messages`, async () => {
      const { port, files } = await start();
      const older = mosquittoSub(port, files('alpha'), 'device', version, ['-t', 'mmc/alpha/device', '-q', '1', '-W', '10', ...persistent]);
      await older.line(subscribed);
      const newer = mosquittoSub(port, files('alpha'), 'device', version, ['-t', 'mmc/alpha/device', '-q', '1', '-C', '1', '-W', '8', ...persistent]);
      await newer.line(subscribed);

      // The older connection ends. mosquitto_sub exits on a DISCONNECT, and on a connection closed
      // without TLS close_notify ("connection was lost"); on one closed cleanly it would connect again
      // and take the session back: stopped at such a second CONNECT, so that the two do not take turns.
      await older.until(() => !older.running || older.lines.filter((line) => /sending CONNECT/.test(line)).length > 1, 'end of its connection', 3000);
      await older.kill();
      const olderSaw = mosquittoObservations(older.lines);
      if (v5) {
        expect(olderSaw.disconnects, older.lines.join('\n')).toEqual([0x8e]);
      } else {
        expect(olderSaw.disconnects, older.lines.join('\n')).toEqual([]);
      }

      const observer = await mosquittoPub(port, files('observer'), 'observer', version, ['-t', 'mmc/alpha/device', '-m', 'after', '-q', '1']);
      expect(observer.exit.code, observer.lines.join('\n')).toBe(0);
      expect((await newer.ended()).code, newer.lines.join('\n')).toBe(0);
      expect(mosquittoObservations(newer.lines)).toMatchObject({ connacks: [0], disconnects: [] });
      expect(mosquittoObservations(newer.lines).messages).toEqual([expect.objectContaining({ topic: 'mmc/alpha/device', qos: 1, payload: 'after' })]);
      expect(olderSaw.messages).toEqual([]);
    });

    it('a resumed session: the QoS 1 messages published while it was away arrive on reconnecting with clean session off', async () => {
      const { port, files } = await start();
      const first = mosquittoSub(port, files('alpha'), 'device', version, ['-t', 'mmc/alpha/queue', '-q', '1', '-E', '-W', '5', ...persistent]);
      expect((await first.ended()).code, first.lines.join('\n')).toBe(0);
      for (const payload of ['one', 'two']) {
        const observer = await mosquittoPub(port, files('observer'), 'observer', version, ['-t', 'mmc/alpha/queue', '-m', payload, '-q', '1']);
        expect(observer.exit.code, observer.lines.join('\n')).toBe(0);
      }
      // Back with another filter: only the held session's own subscription can bring the two.
      const back = mosquittoSub(port, files('alpha'), 'device', version, ['-t', 'mmc/alpha/other', '-q', '1', '-C', '2', '-W', '5', ...persistent]);
      expect((await back.ended()).code, back.lines.join('\n')).toBe(0);
      const seen = mosquittoObservations(back.lines);
      expect(seen.connacks).toEqual([0]);
      expect(seen.publishes.map(({ qos, topic }) => ({ qos, topic }))).toEqual([
        { qos: 1, topic: 'mmc/alpha/queue' },
        { qos: 1, topic: 'mmc/alpha/queue' },
      ]);
      expect(seen.messages.map((message) => message.payload)).toEqual(['one', 'two']);
    });

    it('a retained message: kept, given with the retain flag to a later subscriber, without it to one already subscribed', async () => {
      const { port, files } = await start();
      const live = mosquittoSub(port, files('alpha'), 'live', version, ['-t', 'mmc/alpha/state', '-q', '1', '-C', '1', '-W', '8']);
      await live.line(subscribed);
      const pub = await mosquittoPub(port, files('alpha'), 'writer', version, ['-t', 'mmc/alpha/state', '-m', 'on', '-q', '1', '-r']);
      expect(pub.exit.code, pub.lines.join('\n')).toBe(0);
      expect(mosquittoObservations(pub.lines).pubacks).toEqual([0]);
      expect((await live.ended()).code, live.lines.join('\n')).toBe(0);
      expect(mosquittoObservations(live.lines).messages).toEqual([expect.objectContaining({ topic: 'mmc/alpha/state', payload: 'on', retain: 0 })]);

      const later = mosquittoSub(port, files('alpha'), 'later', version, ['-t', 'mmc/alpha/#', '-q', '1', '-C', '1', '-W', '5']);
      expect((await later.ended()).code, later.lines.join('\n')).toBe(0);
      expect(mosquittoObservations(later.lines).publishes).toEqual([{ dup: 0, qos: 1, retain: 1, topic: 'mmc/alpha/state' }]);
      expect(mosquittoObservations(later.lines).messages).toEqual([expect.objectContaining({ payload: 'on', retain: 1 })]);
    });

    it(`a refusal: another identity presenting a session name in use gets ${v5 ? 'CONNACK 0x87' : 'return code 5'}; with its own session name the same CONNECT is accepted`, async () => {
      const { port, files } = await start();
      const holder = mosquittoSub(port, files('alpha'), 'shared', version, ['-t', 'mmc/alpha/#', '-q', '1', '-W', '10']);
      await holder.line(subscribed);

      const contender = mosquittoSub(port, files('beta'), 'shared', version, ['-t', 'mmc/beta/#', '-q', '1', '-E', '-W', '5']);
      // mosquitto_sub exits with the CONNACK's code.
      expect((await contender.ended()).code, contender.lines.join('\n')).toBe(CODES[version].notAuthorized);
      expect(mosquittoObservations(contender.lines)).toMatchObject({ connacks: [CODES[version].notAuthorized], subacks: [] });
      expect(contender.lines.join('\n')).toMatch(v5 ? /Connection error: Not authorized/ : /Connection Refused: not authorised/);

      const control = mosquittoSub(port, files('beta'), 'beta-own', version, ['-t', 'mmc/beta/#', '-q', '1', '-E', '-W', '5']);
      expect((await control.ended()).code, control.lines.join('\n')).toBe(0);
      expect(mosquittoObservations(control.lines)).toMatchObject({ connacks: [0], subacks: [[1]] });

      // The owner was not disturbed.
      expect(holder.running).toBe(true);
      expect(mosquittoObservations(holder.lines).disconnects).toEqual([]);
    });
  });

  // MQTT 5 only: MQTT 3.1.1 has no properties.
  it('MQTT 5: a will with a Will Delay Interval: published once the delay has passed, to a subscriber that stays connected', async () => {
    const { port, files } = await start();
    const watcher = mosquittoSub(port, files('alpha'), 'watcher', '5', ['-t', 'mmc/alpha/will', '-q', '1', '-C', '1', '-W', '8']);
    await watcher.line(subscribed);
    const delayed = mosquittoSub(port, files('alpha'), 'delayed', '5', [
      ...['-t', 'mmc/alpha/none', '-W', '8', '-c', '-x', '300'],
      ...['--will-topic', 'mmc/alpha/will', '--will-payload', 'late', '--will-qos', '1'],
      ...['-D', 'will', 'will-delay-interval', '1', '-D', 'will', 'user-property', 'origin', 'will'],
    ]);
    await delayed.line(subscribed);
    const dropped = Date.now();
    await delayed.kill();

    await watcher.line(firstMessage, 6000);
    // Not before its delay (1 s, counted by the broker from when it saw the connection end, after this
    // kill; less a little for timer granularity).
    expect(Date.now() - dropped).toBeGreaterThanOrEqual(900);
    expect((await watcher.ended()).code, watcher.lines.join('\n')).toBe(0);
    // A Will Delay Interval is a CONNECT property: the PUBLISH of the will must not carry it (a client
    // that gets one reports a protocol error and is cut off).
    expect(watcher.lines.join('\n')).not.toMatch(/protocol error/i);
    expect(mosquittoObservations(watcher.lines).messages).toEqual([
      expect.objectContaining({ topic: 'mmc/alpha/will', qos: 1, payload: 'late', properties: { 'user-properties': { origin: 'will' } } }),
    ]);
  });
});
