// CONNACK properties aedes does not know to send: Event Grid's Maximum QoS 1 (L9), on MQTT 5 CONNACKs
// that accept. (The Maximum Packet Size, L15, is aedes' own `maximumPacketSize`, which also enforces
// it.) Like the Session Present override, they are put in where every CONNACK passes (mqtt-packet), for
// the streams the reference broker marked.
import mqttPacket from 'mqtt-packet';

const propertiesByStream = new WeakMap<object, Record<string, number>>();
let installed = false;

export function installConnackProperties(): void {
  if (installed) return;
  installed = true;
  const original = mqttPacket.writeToStream;
  const wrapper = ((packet: mqttPacket.Packet, stream: NodeJS.WritableStream, options?: mqttPacket.IPacket) => {
    const extra = propertiesByStream.get(stream);
    if (packet.cmd === 'connack' && extra && !(packet.reasonCode || packet.returnCode) && (options as { protocolVersion?: number } | undefined)?.protocolVersion === 5) {
      packet.properties = { ...packet.properties, ...extra };
    }
    return original(packet, stream, options);
  }) as typeof mqttPacket.writeToStream;
  Object.defineProperty(wrapper, 'cacheNumbers', {
    get: () => original.cacheNumbers,
    set: (value: boolean) => {
      original.cacheNumbers = value;
    },
  });
  mqttPacket.writeToStream = wrapper;
}

/** Properties the accepting MQTT 5 CONNACK on this stream must carry. */
export function setConnackProperties(stream: object, properties: Record<string, number>): void {
  propertiesByStream.set(stream, properties);
}
