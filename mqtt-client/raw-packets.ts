// The one place that encodes MQTT packets by hand, for what mqtt.js and mqtt-packet's generator will
// not write: names that are not well-formed UTF-8 or hold U+0000, a property given twice, an empty
// ClientID with Clean Start 0, a length announced and never sent. Everything else is written with
// mqtt-packet's `generate`. The suite's raw client (raw-client.ts) and the test toolkit (testkit/) use it.
import type { MqttVersion } from '../rules/catalogue.ts';

/** MQTT's Variable Byte Integer (the Remaining Length and property-length encoding). */
export function variableByteInteger(value: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return Buffer.from(bytes);
}

/** A two-byte length, then the bytes: MQTT's UTF-8 string and binary data, without checking either. */
const field = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);

/** A packet: its first byte, the Remaining Length, the body. */
const packet = (firstByte: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([firstByte]), variableByteInteger(body.length), body]);

/** A Session Expiry Interval property (identifier 0x11), in seconds: CONNECT and DISCONNECT properties. */
export function sessionExpiryProperty(seconds: number): Buffer {
  const bytes = Buffer.alloc(5);
  bytes[0] = 0x11;
  bytes.writeUInt32BE(seconds, 1);
  return bytes;
}

export interface ConnectBytesOptions {
  version: MqttVersion;
  /** Sent as they are. */
  clientId: Buffer;
  /** Sent as they are; none when absent. */
  username?: Buffer;
  keepAlive: number;
  /** MQTT 5: the property section's bytes, sent as they are (default none). */
  properties?: Buffer;
  /** MQTT 5 Clean Start / 3.1.1 Clean Session as it goes on the wire (default 1). */
  cleanStart?: boolean;
  /** Sent as it is; none when absent. */
  password?: Buffer;
}

/** A CONNECT, with Clean Start unless told (the session ends with the connection unless `properties` give a Session Expiry Interval). */
export function connectBytes(options: ConnectBytesOptions): Buffer {
  const v5 = options.version === '5';
  const flags = (options.cleanStart === false ? 0 : 0x02) | (options.username ? 0x80 : 0) | (options.password ? 0x40 : 0);
  return packet(
    0x10,
    Buffer.concat([
      field(Buffer.from('MQTT')),
      Buffer.from([v5 ? 5 : 4, flags, options.keepAlive >> 8, options.keepAlive & 0xff]),
      v5 ? Buffer.concat([variableByteInteger(options.properties?.length ?? 0), options.properties ?? Buffer.alloc(0)]) : Buffer.alloc(0),
      field(options.clientId),
      options.username ? field(options.username) : Buffer.alloc(0),
      options.password ? field(options.password) : Buffer.alloc(0),
    ]),
  );
}

/** The Authentication Method (0x15) and Authentication Data (0x16) properties of an MQTT 5 CONNECT presenting a token. */
export function authenticationProperties(method: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x15]), field(Buffer.from(method)), Buffer.from([0x16]), field(data)]);
}

/** An MQTT 5 QoS 0 PUBLISH with the property section's bytes as they are (a property given twice, say). */
export function publishBytes(topic: string, properties: Buffer, payload: Buffer): Buffer {
  return packet(0x30, Buffer.concat([field(Buffer.from(topic)), variableByteInteger(properties.length), properties, payload]));
}

/** A Content Type property (identifier 0x03): PUBLISH and Will properties. */
export function contentTypeProperty(value: string): Buffer {
  return Buffer.concat([Buffer.from([0x03]), field(Buffer.from(value))]);
}

/** An MQTT 5 DISCONNECT (normal disconnection) with the property section's bytes as they are. */
export function disconnectBytes(properties: Buffer): Buffer {
  return packet(0xe0, Buffer.concat([Buffer.from([0]), variableByteInteger(properties.length), properties]));
}

/** The first bytes of a CONNECT that announces `remainingLength` bytes: its fixed header and the start of its variable header, no more. */
export function connectAnnouncing(remainingLength: number): Buffer {
  return Buffer.concat([Buffer.from([0x10]), variableByteInteger(remainingLength), field(Buffer.from('MQTT')), Buffer.from([5, 0x02, 0, 30])]);
}
