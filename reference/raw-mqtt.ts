// MQTT packets built byte by byte, for tests and the stress harness: the ones mqtt.js and mqtt-packet
// will not send (a property given twice, a length announced and never sent).
import { variableByteInteger } from '../mqtt-client/raw-client.ts';

const utf8 = (text: string) => {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
};

const int32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
};

/** A Session Expiry Interval property (identifier 0x11). */
export const sessionExpiryProperty = (seconds: number) => Buffer.concat([Buffer.from([0x11]), int32(seconds)]);

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), variableByteInteger(body.length), body]);
}

/** An MQTT 5 CONNECT (Clean Start, keep alive 30 s) with the given raw property bytes and a Username. */
export function connectV5(clientId: string, username: string | undefined, properties: Buffer): Buffer {
  const flags = 0x02 | (username === undefined ? 0 : 0x80);
  const header = Buffer.concat([utf8('MQTT'), Buffer.from([5, flags, 0, 30])]);
  const payload = Buffer.concat([utf8(clientId), ...(username === undefined ? [] : [utf8(username)])]);
  return packet(0x10, Buffer.concat([header, variableByteInteger(properties.length), properties, payload]));
}

/** An MQTT 5 DISCONNECT (normal disconnection) with the given raw property bytes. */
export function disconnectV5(properties: Buffer): Buffer {
  return packet(0xe0, Buffer.concat([Buffer.from([0]), variableByteInteger(properties.length), properties]));
}

/** The first bytes of a CONNECT that announces `remainingLength` bytes (only its fixed header and a few more follow). */
export function oversizedConnectStart(remainingLength: number): Buffer {
  return Buffer.concat([Buffer.from([0x10]), variableByteInteger(remainingLength), utf8('MQTT'), Buffer.from([5, 0x02, 0, 30])]);
}
