// aedes derives CONNACK Session Present from whether subscriptions were restored, but a session can
// exist with none. mqtt-packet is the one place every CONNACK passes through, so the session
// registry's answer is put in there, for the streams the reference broker marked and no others.
import mqttPacket from 'mqtt-packet';

const sessionPresentByStream = new WeakMap<object, boolean>();
let installed = false;

/** Wraps mqtt-packet's writeToStream once per process; idempotent. */
export function installSessionPresentOverride(): void {
  if (installed) return;
  installed = true;
  const original = mqttPacket.writeToStream;
  const wrapper = ((packet: mqttPacket.Packet, stream: NodeJS.WritableStream, options?: mqttPacket.IPacket) => {
    const present = sessionPresentByStream.get(stream);
    if (packet.cmd === 'connack' && present !== undefined && !(packet.reasonCode || packet.returnCode)) {
      packet.sessionPresent = present;
    }
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

/** The Session Present the CONNACK on this stream must carry. */
export function setSessionPresent(stream: object, present: boolean): void {
  sessionPresentByStream.set(stream, present);
}
