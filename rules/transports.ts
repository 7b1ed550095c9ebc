// The transports Event Grid serves MQTT over, and so the ones a verdict is given for: MQTT over TLS
// (mqtts://, port 8883) and MQTT over WebSockets over TLS (wss://, port 443, path /mqtt).
// https://learn.microsoft.com/azure/event-grid/mqtt-support#mqtt-over-websockets
export const TRANSPORTS = ['tcp', 'wss'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** The transport a target URL names: mqtts:// is MQTT over TLS, wss:// MQTT over WebSockets. */
export function transportOf(url: string): Transport {
  return url.startsWith('wss:') ? 'wss' : 'tcp';
}

/** Whether a URL names a transport Event Grid serves: mqtts://HOST[:PORT], or wss://HOST[:PORT]/PATH. */
export function isTargetUrl(url: string): boolean {
  return /^(mqtts|wss):\/\/[^/]/.test(url);
}
