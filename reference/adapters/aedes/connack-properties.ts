// CONNACK properties aedes does not know to send: Event Grid's Maximum QoS 1 (L9), on MQTT 5 CONNACKs
// that accept. (The Maximum Packet Size, L15, is aedes' own `maximumPacketSize`, which also enforces
// it.) Like the Session Present override, they are put in as every CONNACK is written
// (outgoing-packets.ts), for the streams the reference broker marked.
import type mqttPacket from 'mqtt-packet';
import { rewriteOutgoing } from './outgoing-packets.ts';

const propertiesByStream = new WeakMap<object, Record<string, number>>();

function amendConnackProperties(packet: mqttPacket.Packet, stream: object, options: mqttPacket.IPacket | undefined): void {
  const extra = propertiesByStream.get(stream);
  if (packet.cmd === 'connack' && extra && !(packet.reasonCode || packet.returnCode) && (options as { protocolVersion?: number } | undefined)?.protocolVersion === 5) {
    packet.properties = { ...packet.properties, ...extra };
  }
}

export function installConnackProperties(): void {
  rewriteOutgoing(amendConnackProperties);
}

/** Properties the accepting MQTT 5 CONNACK on this stream must carry. */
export function setConnackProperties(stream: object, properties: Record<string, number>): void {
  propertiesByStream.set(stream, properties);
}
