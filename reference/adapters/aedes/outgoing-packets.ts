// aedes builds some packets without what the namespace says they must carry (CONNACK Session Present,
// CONNACK properties, SUBACK codes for filters refused before aedes saw them). mqtt-packet's
// writeToStream is the one place every outgoing packet passes, so it is wrapped once per process and
// each registered rewrite may amend a packet for the streams the reference broker marked.
import mqttPacket from 'mqtt-packet';

/** Amends a packet about to be written to a stream; most return at once for packets not theirs. */
export type OutgoingRewrite = (packet: mqttPacket.Packet, stream: object, options: mqttPacket.IPacket | undefined) => void;

const rewrites = new Set<OutgoingRewrite>();
let installed = false;

/** Registers a rewrite (once per function), wrapping mqtt-packet's writer the first time. */
export function rewriteOutgoing(rewrite: OutgoingRewrite): void {
  rewrites.add(rewrite);
  if (installed) return;
  installed = true;
  const original = mqttPacket.writeToStream;
  const wrapper = ((packet: mqttPacket.Packet, stream: NodeJS.WritableStream, options?: mqttPacket.IPacket) => {
    for (const amend of rewrites) amend(packet, stream, options);
    return original(packet, stream, options);
  }) as typeof mqttPacket.writeToStream;
  // mqtt.js turns number caching off through this property: keep it reaching the original.
  Object.defineProperty(wrapper, 'cacheNumbers', {
    get: () => original.cacheNumbers,
    set: (value: boolean) => {
      original.cacheNumbers = value;
    },
  });
  mqttPacket.writeToStream = wrapper;
}
