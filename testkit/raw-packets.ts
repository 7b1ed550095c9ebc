// The packets tests and the stress harness send byte by byte, through the one raw encoder
// (mqtt-client/raw-packets.ts): shorthands for the CONNECT and DISCONNECT they use most.
import { connectBytes, disconnectBytes } from '../mqtt-client/raw-packets.ts';

export { connectAnnouncing, sessionExpiryProperty, variableByteInteger } from '../mqtt-client/raw-packets.ts';

/** An MQTT 5 CONNECT (Clean Start, keep alive 30 s) with the given raw property bytes and a Username. */
export const connectV5 = (clientId: string, username: string | undefined, properties: Buffer): Buffer =>
  connectBytes({ version: '5', clientId: Buffer.from(clientId), ...(username === undefined ? {} : { username: Buffer.from(username) }), keepAlive: 30, properties });

/** An MQTT 5 DISCONNECT (normal disconnection) with the given raw property bytes. */
export const disconnectV5 = disconnectBytes;
