// Eclipse Paho for Python (Debian's python3-paho-mqtt) against the reference broker, MQTT 5 and 3.1.1,
// authenticating with the PKI's certificates over mutual TLS (tls_set(ca_certs, certfile, keyfile),
// username_pw_set(authenticationName), the session name as client id): interop/paho_client.py runs one
// session and prints what paho reported (CONNACK code and Session Present, SUBACK, messages with their
// flags and properties, DISCONNECT), and each flow must show what Event Grid would give the client.
// Skipped, saying so, where no python3 can import paho. Each test starts its own broker.
import { describe, expect, it } from 'vitest';
import { PAHO, paho, pahoEvents, pahoRun, type PahoEvent, type Version } from './real-clients.ts';
import { useReferenceBroker } from './reference-target.ts';

if (!PAHO) console.log('interop/paho.test.ts: skipped: no python3 that can import paho-mqtt (Debian: apt-get install python3-paho-mqtt)');

const start = useReferenceBroker();

const only = (events: PahoEvent[], kind: PahoEvent['event']) => events.filter((event) => event.event === kind);
const subscribed = /"event": "suback"/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!PAHO)(`Paho ${PAHO?.version ?? ''} (Python) against the reference broker`, () => {
  describe.each(['5', '3.1.1'] as Version[])('over MQTT %s', (version) => {
    const v5 = version === '5';
    // A persistent session: Clean Start / clean session 0, and in MQTT 5 an expiry.
    const persistent = v5 ? ['--clean', '0', '--expiry', '300'] : ['--clean', '0'];
    const notAuthorized = v5 ? 0x87 : 5;

    it(`publish and subscribe: CONNACK 0${v5 ? ' announcing Maximum QoS 1 and Maximum Packet Size 524288' : ''}; QoS 2 asked, 1 granted; the message as sent`, async () => {
      const { port, files } = await start();
      const sub = paho('sub', port, files('alpha'), 'reader', version, ['--topic', 'mmc/alpha/#', '--qos', '2', '--count', '1', '--wait', '8']);
      await sub.line(subscribed);
      const userProperty = v5 ? ['--user-property', 'origin=paho'] : [];
      const pub = await pahoRun('pub', port, files('alpha'), 'writer', version, ['--topic', 'mmc/alpha/greeting', '--message', 'hello', '--qos', '1', ...userProperty]);
      expect(pub.map((event) => event.event)).toEqual(['connack', 'puback', 'end']);
      expect(pub.at(-1)).toMatchObject({ reason: 'published' });

      await sub.ended();
      const events = pahoEvents(sub);
      expect(events.map((event) => event.event), sub.lines.join('\n')).toEqual(['connack', 'suback', 'message', 'end']);
      expect(events[0]).toMatchObject({ reasonCode: 0, sessionPresent: false });
      if (v5) expect(events[0]!.properties).toMatchObject({ MaximumQoS: 1, MaximumPacketSize: 524288 });
      expect(events[1]).toMatchObject({ reasonCodes: [1] });
      expect(events[2]).toEqual({
        event: 'message',
        topic: 'mmc/alpha/greeting',
        payload: 'hello',
        qos: 1,
        dup: false,
        retain: false,
        properties: v5 ? { UserProperty: [['origin', 'paho']] } : {},
      });
    });

    it('a will: published, with its QoS, when the connection ends with no DISCONNECT; not after a DISCONNECT', async () => {
      const { port, files } = await start();
      const watcher = paho('sub', port, files('alpha'), 'watcher', version, ['--topic', 'mmc/alpha/will', '--count', '1', '--wait', '8']);
      await watcher.line(subscribed);
      const will = (payload: string) => ['--will-topic', 'mmc/alpha/will', '--will-payload', payload, '--will-qos', '1'];
      // Connects and ends with DISCONNECT: its will is discarded.
      await pahoRun('sub', port, files('alpha'), 'polite', version, will('polite'));
      // Connects and closes its socket with no DISCONNECT.
      const dropped = await pahoRun('sub', port, files('alpha'), 'dropped', version, [...will('gone'), '--end', 'drop']);
      expect(dropped.map((event) => event.event)).toEqual(['connack', 'end']);

      await watcher.ended();
      expect(only(pahoEvents(watcher), 'message'), watcher.lines.join('\n')).toEqual([
        { event: 'message', topic: 'mmc/alpha/will', payload: 'gone', qos: 1, dup: false, retain: false, properties: {} },
      ]);
    });

    it(`a takeover: the same identity and client id again ends the older connection${v5 ? ' with DISCONNECT 0x8E' : ''}; the newer one resumes the session (Session Present) and gets its messages`, async () => {
      const { port, files } = await start();
      const older = paho('sub', port, files('alpha'), 'device', version, ['--topic', 'mmc/alpha/device', '--count', '1', '--wait', '10', ...persistent]);
      await older.line(subscribed);
      const newer = paho('sub', port, files('alpha'), 'device', version, ['--count', '1', '--wait', '8', ...persistent]);
      await newer.line(/"event": "connack"/);

      await older.ended(3000);
      const olderSaw = pahoEvents(older);
      if (v5) {
        // The DISCONNECT as it came: 0x8E Session taken over; and paho's own report of it, which it gives
        // only when properties follow the Reason Code (github.com/eclipse-paho/paho.mqtt.python/issues/860):
        // the broker sends a Reason String with it.
        expect(only(olderSaw, 'disconnectPacket'), older.lines.join('\n')).toMatchObject([{ reasonCode: 0x8e }]);
        expect(only(olderSaw, 'disconnect'), older.lines.join('\n')).toMatchObject([{ reasonCode: 0x8e, properties: { ReasonString: 'session taken over by another connection' } }]);
      } else {
        expect(only(olderSaw, 'disconnectPacket')).toEqual([]);
        expect(only(olderSaw, 'connectionLost'), older.lines.join('\n')).toHaveLength(1);
      }
      expect(olderSaw.at(-1)).toMatchObject({ event: 'end', reason: 'disconnected' });

      expect(only(pahoEvents(newer), 'connack')).toMatchObject([{ reasonCode: 0, sessionPresent: true }]);
      await pahoRun('pub', port, files('observer'), 'observer', version, ['--topic', 'mmc/alpha/device', '--message', 'after']);
      await newer.ended();
      expect(only(pahoEvents(newer), 'message'), newer.lines.join('\n')).toMatchObject([{ topic: 'mmc/alpha/device', payload: 'after', qos: 1 }]);
      expect(only(olderSaw, 'message')).toEqual([]);
    });

    it('a resumed session: Session Present, and the QoS 1 messages published while it was away', async () => {
      const { port, files } = await start();
      const first = await pahoRun('sub', port, files('alpha'), 'device', version, ['--topic', 'mmc/alpha/queue', ...persistent]);
      expect(only(first, 'connack')).toMatchObject([{ reasonCode: 0, sessionPresent: false }]);
      await pahoRun('pub', port, files('observer'), 'observer', version, ['--topic', 'mmc/alpha/queue', '--message', 'one', '--message', 'two']);

      // Back with no SUBSCRIBE of its own: only the held session's subscription can bring the two.
      const back = await pahoRun('sub', port, files('alpha'), 'device', version, ['--count', '2', '--wait', '5', ...persistent]);
      expect(only(back, 'connack')).toMatchObject([{ reasonCode: 0, sessionPresent: true }]);
      expect(only(back, 'message').map(({ topic, payload, qos, retain }) => ({ topic, payload, qos, retain }))).toEqual([
        { topic: 'mmc/alpha/queue', payload: 'one', qos: 1, retain: false },
        { topic: 'mmc/alpha/queue', payload: 'two', qos: 1, retain: false },
      ]);
    });

    it('a retained message: given with the retain flag to a later subscriber', async () => {
      const { port, files } = await start();
      const pub = await pahoRun('pub', port, files('alpha'), 'writer', version, ['--topic', 'mmc/alpha/state', '--message', 'on', '--retain']);
      expect(only(pub, 'puback')).toHaveLength(1);
      const later = await pahoRun('sub', port, files('alpha'), 'later', version, ['--topic', 'mmc/alpha/#', '--count', '1', '--wait', '5']);
      expect(only(later, 'message')).toEqual([{ event: 'message', topic: 'mmc/alpha/state', payload: 'on', qos: 1, dup: false, retain: true, properties: {} }]);
    });

    it(`a refusal: another identity presenting a session name in use gets ${v5 ? 'CONNACK 0x87' : 'return code 5'}; with its own session name the same CONNECT is accepted`, async () => {
      const { port, files } = await start();
      const holder = paho('sub', port, files('alpha'), 'shared', version, ['--topic', 'mmc/alpha/#', '--count', '1', '--wait', '10']);
      await holder.line(subscribed);

      const contender = await pahoRun('sub', port, files('beta'), 'shared', version, ['--topic', 'mmc/beta/#']);
      expect(contender.map((event) => event.event)).toEqual(['connack', 'end']);
      expect(contender[0]).toMatchObject({ reasonCode: notAuthorized, sessionPresent: false });

      const control = await pahoRun('sub', port, files('beta'), 'beta-own', version, ['--topic', 'mmc/beta/#']);
      expect(control.map((event) => event.event)).toEqual(['connack', 'suback', 'end']);
      expect(control[0]).toMatchObject({ reasonCode: 0, sessionPresent: false });

      // The owner was not disturbed.
      expect(holder.running).toBe(true);
      expect(pahoEvents(holder).map((event) => event.event)).toEqual(['connack', 'suback']);
    });
  });

  // Paho's own WebSocket client (transport="websockets", path /mqtt) at the reference's wss port, with
  // the same certificates: one namespace over both transports.
  describe('MQTT 5 over WebSockets (wss)', () => {
    const persistent = ['--clean', '0', '--expiry', '300'];
    const over = (transport: 'tcp' | 'wss', ports: { port: number; wsPort: number }) =>
      transport === 'wss' ? { port: ports.wsPort, flags: ['--transport', 'websockets'] } : { port: ports.port, flags: [] };

    it('publish and subscribe over wss: CONNACK 0, QoS 1 granted, the message as sent', async () => {
      const ports = await start();
      const { port, flags } = over('wss', ports);
      const sub = paho('sub', port, ports.files('alpha'), 'ws-reader', '5', [...flags, '--topic', 'mmc/alpha/#', '--count', '1', '--wait', '8']);
      await sub.line(subscribed);
      const pub = await pahoRun('pub', port, ports.files('observer'), 'ws-writer', '5', [...flags, '--topic', 'mmc/alpha/greeting', '--message', 'over wss']);
      expect(pub.map((event) => event.event)).toEqual(['connack', 'puback', 'end']);
      await sub.ended();
      expect(pahoEvents(sub).map((event) => event.event), sub.lines.join('\n')).toEqual(['connack', 'suback', 'message', 'end']);
      expect(only(pahoEvents(sub), 'message')).toMatchObject([{ topic: 'mmc/alpha/greeting', payload: 'over wss', qos: 1 }]);
    });

    it.each([
      ['wss', 'tcp'],
      ['tcp', 'wss'],
    ] as const)('a session held over %s is taken over over %s: the older gets DISCONNECT 0x8E, the newer Session Present and the messages', async (first, second) => {
      const ports = await start();
      const older = paho('sub', over(first, ports).port, ports.files('alpha'), 'moving', '5', [...over(first, ports).flags, '--topic', 'mmc/alpha/moving', '--count', '1', '--wait', '10', ...persistent]);
      await older.line(subscribed);
      const newer = paho('sub', over(second, ports).port, ports.files('alpha'), 'moving', '5', [...over(second, ports).flags, '--count', '1', '--wait', '8', ...persistent]);
      await newer.line(/"event": "connack"/);
      await older.ended(3000);
      expect(only(pahoEvents(older), 'disconnectPacket'), older.lines.join('\n')).toMatchObject([{ reasonCode: 0x8e }]);
      expect(only(pahoEvents(older), 'disconnect'), older.lines.join('\n')).toMatchObject([{ reasonCode: 0x8e }]);
      expect(only(pahoEvents(newer), 'connack')).toMatchObject([{ reasonCode: 0, sessionPresent: true }]);
      await pahoRun('pub', ports.port, ports.files('observer'), 'observer', '5', ['--topic', 'mmc/alpha/moving', '--message', 'after']);
      await newer.ended();
      expect(only(pahoEvents(newer), 'message'), newer.lines.join('\n')).toMatchObject([{ topic: 'mmc/alpha/moving', payload: 'after', qos: 1 }]);
    });

    it('another identity presenting over wss a session name held over TLS gets CONNACK 0x87; its own name is accepted', async () => {
      const ports = await start();
      const holder = paho('sub', ports.port, ports.files('alpha'), 'held', '5', ['--topic', 'mmc/alpha/#', '--count', '1', '--wait', '10']);
      await holder.line(subscribed);
      const { port, flags } = over('wss', ports);
      const contender = await pahoRun('sub', port, ports.files('beta'), 'held', '5', [...flags, '--topic', 'mmc/beta/#']);
      expect(contender.map((event) => event.event)).toEqual(['connack', 'end']);
      expect(contender[0]).toMatchObject({ reasonCode: 0x87, sessionPresent: false });
      const control = await pahoRun('sub', port, ports.files('beta'), 'beta-own', '5', [...flags, '--topic', 'mmc/beta/#']);
      expect(control[0]).toMatchObject({ reasonCode: 0, sessionPresent: false });
      expect(holder.running).toBe(true);
    });

    it('a session left over TLS resumed over wss: Session Present, and the QoS 1 messages published meanwhile', async () => {
      const ports = await start();
      await pahoRun('sub', ports.port, ports.files('alpha'), 'roaming', '5', ['--topic', 'mmc/alpha/roaming', ...persistent]);
      await pahoRun('pub', ports.port, ports.files('observer'), 'observer', '5', ['--topic', 'mmc/alpha/roaming', '--message', 'one', '--message', 'two']);
      const { port, flags } = over('wss', ports);
      const back = await pahoRun('sub', port, ports.files('alpha'), 'roaming', '5', [...flags, '--count', '2', '--wait', '5', ...persistent]);
      expect(only(back, 'connack')).toMatchObject([{ reasonCode: 0, sessionPresent: true }]);
      expect(only(back, 'message').map(({ payload }) => payload)).toEqual(['one', 'two']);
    });
  });

  describe('MQTT 5 only', () => {
    const delayedWill = ['--will-topic', 'mmc/alpha/will', '--will-payload', 'late', '--will-qos', '1', '--clean', '0', '--expiry', '300'];

    it('a will with a Will Delay Interval: published once the delay has passed, with no Will Delay Interval in its PUBLISH', async () => {
      const { port, files } = await start();
      const watcher = paho('sub', port, files('alpha'), 'watcher', '5', ['--topic', 'mmc/alpha/will', '--count', '1', '--wait', '8']);
      await watcher.line(subscribed);
      const droppedAt = Date.now();
      await pahoRun('sub', port, files('alpha'), 'delayed', '5', [...delayedWill, '--will-delay', '1', '--end', 'drop']);

      await watcher.ended();
      const events = pahoEvents(watcher);
      // paho refuses a PUBLISH that carries a Will Delay Interval (a CONNECT property): clientError.
      expect(events.map((event) => event.event), watcher.lines.join('\n')).toEqual(['connack', 'suback', 'message', 'end']);
      expect(events[2]).toEqual({ event: 'message', topic: 'mmc/alpha/will', payload: 'late', qos: 1, dup: false, retain: false, properties: {} });
      expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(900);
    });

    it('a will with a Will Delay Interval is not published when the session is resumed within the delay', async () => {
      const { port, files } = await start();
      const watcher = paho('sub', port, files('alpha'), 'watcher', '5', ['--topic', 'mmc/alpha/will', '--count', '1', '--wait', '12']);
      await watcher.line(subscribed);
      const droppedAt = Date.now();
      await pahoRun('sub', port, files('alpha'), 'delayed', '5', [...delayedWill, '--will-delay', '3', '--end', 'drop']);
      const back = await pahoRun('sub', port, files('alpha'), 'delayed', '5', ['--clean', '0', '--expiry', '300']);
      expect(only(back, 'connack')).toMatchObject([{ reasonCode: 0, sessionPresent: true }]);
      expect(Date.now() - droppedAt, 'resumed within the delay').toBeLessThan(3000);
      // Past the delay, a marker: the watcher's one message must be it, not the will.
      await sleep(droppedAt + 3500 - Date.now());
      await pahoRun('pub', port, files('observer'), 'observer', '5', ['--topic', 'mmc/alpha/will', '--message', 'marker']);
      await watcher.ended();
      expect(only(pahoEvents(watcher), 'message').map((event) => event.payload), watcher.lines.join('\n')).toEqual(['marker']);
    });

    it('a resume with Clean Start 0 and no Session Expiry Interval: Session Present, and the queued QoS 1 messages delivered', async () => {
      // The held session (expiry 300 s) is resumed; the new connection's expiry 0 governs only its end.
      const { port, files } = await start();
      await pahoRun('sub', port, files('alpha'), 'device', '5', ['--topic', 'mmc/alpha/queue', '--clean', '0', '--expiry', '300']);
      await pahoRun('pub', port, files('observer'), 'observer', '5', ['--topic', 'mmc/alpha/queue', '--message', 'one', '--message', 'two']);
      const back = await pahoRun('sub', port, files('alpha'), 'device', '5', ['--clean', '0', '--count', '2', '--wait', '3']);
      expect(only(back, 'connack')).toMatchObject([{ reasonCode: 0, sessionPresent: true }]);
      expect(only(back, 'message').map((event) => event.payload)).toEqual(['one', 'two']);
    });
  });
});
