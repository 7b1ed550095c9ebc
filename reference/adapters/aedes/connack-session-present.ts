// aedes derives CONNACK Session Present from whether subscriptions were restored, but a session can
// exist with none. mqtt-packet is the one place every CONNACK passes through, so the session
// registry's answer is put in there, for the streams the reference broker marked and no others.
import type mqttPacket from 'mqtt-packet';
import { rewriteOutgoing } from './outgoing-packets.ts';

const sessionPresentByStream = new WeakMap<object, boolean>();

function amendSessionPresent(packet: mqttPacket.Packet, stream: object): void {
  const present = sessionPresentByStream.get(stream);
  if (packet.cmd === 'connack' && present !== undefined && !(packet.reasonCode || packet.returnCode)) packet.sessionPresent = present;
}

/** Makes every accepting CONNACK carry the Session Present set for its stream; idempotent. */
export function installSessionPresentOverride(): void {
  rewriteOutgoing(amendSessionPresent);
}

/** The Session Present the CONNACK on this stream must carry. */
export function setSessionPresent(stream: object, present: boolean): void {
  sessionPresentByStream.set(stream, present);
}
