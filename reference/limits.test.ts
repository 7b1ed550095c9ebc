// The limit checks on their own: names read from the CONNECT's bytes (never mqtt-packet's lossy
// decoding), the offline queue's bounds, and that every mutant removes what it says it removes.
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { parseNamespace } from '../eventgrid/namespace.ts';
import { parseNames } from './adapters/aedes/raw-connect.ts';
import { MemoryQueueCounts, SessionQueues } from './adapters/aedes/session-queues.ts';
import type { ConnectContext } from './policy/behaviour.ts';
import { firstRefusal } from './policy/check.ts';
import { EVENT_GRID } from './policy/event-grid.ts';
import { MUTANTS, mutatedBehaviour } from './policy/mutants.ts';
import { characterCount, decodeName, NAME_CHECKS } from './policy/names.ts';

const limits = parseNamespace({}).reference.limits;

/** The name checks read only the request: the names as sent. */
function nameRefusal(clientId: Buffer, username?: Buffer) {
  const request = { protocolVersion: 5, clientId: clientId.toString(), cleanStart: true, sentNames: { clientId, ...(username ? { username } : {}) } };
  return firstRefusal(NAME_CHECKS, { request } as unknown as ConnectContext);
}

/** A CONNECT as mqtt-packet writes it, without its fixed header (what the parser hands _parseConnect). */
function connectBody(packet: Partial<mqttPacket.IConnectPacket>): Buffer {
  const bytes = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', clean: true, keepalive: 60, clientId: 'x', ...packet } as mqttPacket.IConnectPacket);
  let pos = 1;
  while (bytes[pos]! & 0x80) pos += 1;
  return bytes.subarray(pos + 1);
}

describe('names as sent', () => {
  it.each([4, 5] as const)('reads ClientID and Username past properties and a will (MQTT %s)', (protocolVersion) => {
    const body = connectBody({
      protocolVersion,
      clientId: 'session-1',
      username: 'alpha',
      will: { topic: 'w', payload: Buffer.from('bye'), qos: 0, retain: false, ...(protocolVersion === 5 ? { properties: { willDelayInterval: 5 } } : {}) },
      ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 60, authenticationMethod: 'none' } } : {}),
    });
    const names = parseNames(body)!;
    expect(names.clientId.toString()).toBe('session-1');
    expect(names.username?.toString()).toBe('alpha');
  });

  it('tells "coll\\xff" and "coll\\xfe" apart and refuses both; mqtt-packet would decode them alike', () => {
    const a = Buffer.from('636f6c6cff', 'hex');
    const b = Buffer.from('636f6c6cfe', 'hex');
    expect(a.toString('utf8')).toBe(b.toString('utf8'));
    const refusals = [a, b].map((clientId) => nameRefusal(clientId));
    expect(refusals.map((refusal) => refusal?.rule)).toEqual(['L7', 'L7']);
    expect(refusals[0]!.reason).not.toBe(refusals[1]!.reason);
  });

  it.each([
    ['ff', false], ['c0af', false], ['eda080', false], ['f4908080', false], ['00', false],
    ['c3bf', true], ['ed9fbf', true], ['f09f9880', true],
  ])('bytes %s are a well-formed name: %s', (hex, ok) => {
    expect(decodeName(Buffer.concat([Buffer.from('n'), Buffer.from(hex, 'hex')])).ok).toBe(ok);
  });

  it('counts characters, not bytes or UTF-16 units: 128 four-byte characters pass, 129 do not', () => {
    const name = (count: number) => Buffer.from('😀'.repeat(count));
    expect(characterCount('😀'.repeat(128))).toBe(128);
    expect(nameRefusal(name(128))).toBeUndefined();
    expect(nameRefusal(name(129))?.rule).toBe('L5');
    expect(nameRefusal(Buffer.from('s'), Buffer.from('u'.repeat(129)))?.rule).toBe('L6');
  });
});

describe('the offline queue (L8)', () => {
  function queues(overflowed: string[], behaviour = EVENT_GRID) {
    const queue = new SessionQueues({ behaviour, limits, counts: new MemoryQueueCounts(), heldOffline: (name) => name !== 'online', overflow: async (name) => void overflowed.push(name), log: () => {} });
    return async (clientId: string, bytes: number, qos = 1) => queue.queued([{ clientId, qos }], { payload: Buffer.alloc(bytes) });
  }

  it('holds 100 messages and ends the session at the 101st', async () => {
    const overflowed: string[] = [];
    const enqueue = queues(overflowed);
    for (let i = 0; i < 100; i += 1) await enqueue('s1', 10);
    expect(overflowed).toEqual([]);
    await enqueue('s1', 10);
    expect(overflowed).toEqual(['s1']);
  });

  it('ends the session past 1 MiB of payload; QoS 0 and connected sessions do not count', async () => {
    const overflowed: string[] = [];
    const enqueue = queues(overflowed);
    for (let i = 0; i < 10; i += 1) await enqueue('s1', 100 * 1024);
    await enqueue('s1', 1000, 0);
    for (let i = 0; i < 200; i += 1) await enqueue('online', 100 * 1024);
    expect(overflowed).toEqual([]);
    await enqueue('s1', 30 * 1024);
    expect(overflowed).toEqual(['s1']);
  });

  it('never ends a session under the L8 mutant', async () => {
    const overflowed: string[] = [];
    const enqueue = queues(overflowed, mutatedBehaviour(['L8']));
    for (let i = 0; i < 150; i += 1) await enqueue('s1', 10);
    expect(overflowed).toEqual([]);
  });
});

describe('the mutants of the limits', () => {
  const LIMIT_RULES = ['L5', 'L6', 'L7', 'L8', 'L9', 'L10', 'L11', 'L12', 'L13', 'L14', 'L15', 'L16', 'L16.receive-maximum', 'L18'] as const;

  it('break L5-L16 and L18, each changing the behaviour', () => {
    for (const rule of LIMIT_RULES) {
      expect(MUTANTS.has(rule), rule).toBe(true);
      expect(mutatedBehaviour([rule]), rule).not.toEqual(EVENT_GRID);
    }
  });

  it('leave the production checks alone', () => {
    mutatedBehaviour(LIMIT_RULES);
    expect(EVENT_GRID.connectChecks.slice(0, 4).map((check) => check.rule)).toEqual(['L7', 'L5', 'L6', 'S4']);
    // What the namespace takes at all (M5), topic validity, then authorization (reference/policy/access.ts), then the quota.
    expect(EVENT_GRID.subscribeChecks.map((check) => check.rule)).toEqual(['M5', 'L11', 'P2', 'P2', 'P3', 'L10']);
    expect(EVENT_GRID.publishChecks.map((check) => check.rule)).toEqual(['L9', 'L11', 'P2', 'P2', 'P3', 'L18']);
    expect(EVENT_GRID.maximumQos).toBe(1);
    expect(EVENT_GRID.keepAliveInForce(0, 1160)).toBe(1160);
    expect(EVENT_GRID.keepAliveInForce(1161, 1160)).toBe(1160);
    expect(EVENT_GRID.keepAliveInForce(30, 1160)).toBe(30);
    // L16: the client's Maximum Packet Size counts the whole packet; its Receive Maximum is the window.
    expect([EVENT_GRID.fitsClient(1024, 1024), EVENT_GRID.fitsClient(1025, 1024), EVENT_GRID.fitsClient(524_288, undefined)]).toEqual([true, false, true]);
    expect(EVENT_GRID.inFlightWindow(2)).toBe(2);
  });

  it('L22: Authentication Data past 8 KiB on a CONNECT is refused as bad credentials, on an AUTH it ends the connection; 8 KiB passes; the mutant reads any', () => {
    const packet = (cmd: string, bytes: number) => ({ version: 5, packet: { cmd, properties: { authenticationMethod: 'CUSTOM-JWT', authenticationData: Buffer.alloc(bytes, 0x61) } }, scan: { repeated: [], outOfRange: [] } });
    expect(firstRefusal(EVENT_GRID.packetChecks, packet('connect', 8193))).toMatchObject({ rule: 'L22', code: { reasonCode: 0x86 } });
    expect(firstRefusal(EVENT_GRID.packetChecks, packet('auth', 8193))).toMatchObject({ rule: 'L22', code: { packet: 'DISCONNECT', reasonCode: 0x87 } });
    expect(firstRefusal(EVENT_GRID.packetChecks, packet('connect', 8192))).toBeUndefined();
    expect(firstRefusal(mutatedBehaviour(['L22']).packetChecks, packet('connect', 8193))).toBeUndefined();
  });

  it('L18: a retained PUBLISH of more than 64 KiB of payload is refused as over quota (a PUBACK refusal); a plain one of any size is not its concern', () => {
    const namespace = parseNamespace({ clients: [{ name: 'a', authenticationName: 'a' }] });
    // Only the size checks: the client here is granted no topic (access is P1-P3's).
    const publish = (retain: boolean, payloadBytes: number, behaviour = EVENT_GRID) =>
      firstRefusal(
        behaviour.publishChecks.filter((check) => check.rule.startsWith('L')),
        { version: 5, sessionName: 's1', topic: 'mmc/a/t', qos: 1, retain, payloadBytes, client: namespace.clients[0]!, namespace, limits, behaviour },
      );
    expect(publish(true, 65_537)).toMatchObject({ rule: 'L18', code: { packet: 'PUBACK', reasonCode: 0x97 } });
    expect(publish(true, 65_536)).toBeUndefined();
    expect(publish(false, 65_537)).toBeUndefined();
    expect(publish(true, 65_537, mutatedBehaviour(['L18']))).toBeUndefined();
  });

  it("L16's mutants ignore the client's Maximum Packet Size, or its Receive Maximum", () => {
    expect(mutatedBehaviour(['L16']).fitsClient(1025, 1024)).toBe(true);
    expect(mutatedBehaviour(['L16']).inFlightWindow(2)).toBe(2);
    expect(mutatedBehaviour(['L16.receive-maximum']).inFlightWindow(2)).toBe(Number.POSITIVE_INFINITY);
    expect(mutatedBehaviour(['L16.receive-maximum']).fitsClient(1025, 1024)).toBe(false);
  });
});
