// One CONNECT exactly as given, over TLS, for packets mqtt.js will not send (an empty ClientID with
// Clean Start 0): mqtt-packet generates it, the flag is set by hand, the first CONNACK is read back.
import { connect as tlsConnect } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import type { LoadedIdentity } from '../certs/manifest.ts';
import type { MqttVersion } from '../rules/catalogue.ts';

export interface RawConnectOptions {
  url: string;
  ca: string;
  identity: LoadedIdentity;
  version: MqttVersion;
  clientId: string;
  /** Default the identity's authentication name; null for none. */
  username?: string | null;
  /** MQTT 5 Clean Start / 3.1.1 Clean Session, as it goes on the wire (mqtt.js forces 1 with an empty ClientID). */
  cleanStart: boolean;
  /** MQTT 5 Session Expiry Interval, seconds. */
  sessionExpiry?: number;
  timeoutMs: number;
}

export interface RawConnackOutcome {
  /** The CONNACK's reason code (5) or return code (3.1.1); undefined when the connection closed with none. */
  code?: number;
  sessionPresent: boolean;
  reasonString?: string;
}

/** The byte offset of the CONNECT flags: fixed header (1-byte length), protocol name, protocol level. */
const FLAGS_OFFSET = 2 + 6 + 1;
const CLEAN_START = 0x02;

export function connectPacket(options: Pick<RawConnectOptions, 'identity' | 'version' | 'clientId' | 'username' | 'cleanStart' | 'sessionExpiry'>): Buffer {
  const protocolVersion = options.version === '5' ? 5 : 4;
  const username = options.username === undefined ? options.identity.entry.authenticationName : options.username;
  const bytes = mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion,
    clientId: options.clientId,
    // mqtt-packet refuses an empty ClientID with clean=0: generate with 1, then clear the flag.
    clean: true,
    keepalive: 30,
    ...(username === null ? {} : { username }),
    ...(protocolVersion === 5 && options.sessionExpiry !== undefined ? { properties: { sessionExpiryInterval: options.sessionExpiry } } : {}),
  });
  if (bytes.subarray(2, 8).toString('latin1') !== '\u0000\u0004MQTT') throw new Error('unexpected CONNECT layout from mqtt-packet');
  if (!options.cleanStart) bytes[FLAGS_OFFSET] = bytes[FLAGS_OFFSET]! & ~CLEAN_START;
  return bytes;
}

/** Sends one CONNECT and resolves with the CONNACK (or its absence); the connection is closed after. */
export function rawConnect(options: RawConnectOptions): Promise<RawConnackOutcome> {
  const url = new URL(options.url);
  const socket = tlsConnect({
    host: url.hostname,
    port: Number(url.port || 8883),
    servername: /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname,
    ca: options.ca,
    cert: options.identity.certificatePem,
    key: options.identity.keyPem,
  });
  const parser = mqttPacket.parser({ protocolVersion: options.version === '5' ? 5 : 4 });
  return new Promise<RawConnackOutcome>((resolve) => {
    const timer = setTimeout(() => finish({ sessionPresent: false }), options.timeoutMs);
    function finish(outcome: RawConnackOutcome) {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    }
    parser.on('packet', (packet) => {
      if (packet.cmd !== 'connack') return;
      finish({
        code: packet.reasonCode ?? packet.returnCode ?? 0,
        sessionPresent: packet.sessionPresent,
        ...(packet.properties?.reasonString ? { reasonString: packet.properties.reasonString } : {}),
      });
    });
    parser.on('error', () => finish({ sessionPresent: false }));
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.once('secureConnect', () => socket.write(connectPacket(options)));
    socket.once('error', () => finish({ sessionPresent: false }));
    socket.once('close', () => finish({ sessionPresent: false }));
  });
}
