// The brokers a benchmark compares, all behind the same mutual-TLS setup on loopback: the reference,
// plain aedes 2.0 beta, and Debian's mosquitto when it is installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer as createNetServer, Socket, type AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { Aedes } from 'aedes';
import type { LoadedPki } from '../certs/manifest.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import type { NamespaceConfig } from '../eventgrid/namespace.ts';
import { temporaryDir } from '../common/test-support.ts';
import { startReferenceBroker } from '../reference/broker.ts';
import { serverTlsFromPki } from '../certs/manifest.ts';

export interface BenchBroker {
  name: string;
  url: string;
  /** MQTT over WebSockets on the same TLS, where the broker serves it. */
  wsUrl?: string;
  stop(): Promise<void>;
}

export type BrokerKind = 'reference' | 'aedes' | 'mosquitto';

/**
 * The PKI's namespace with a session limit past Event Grid's 100, set after validation, so that one
 * identity can hold a benchmark's sessions while the limit is still counted on every CONNECT.
 */
export function benchNamespace(pki: LoadedPki): NamespaceConfig {
  const namespace = namespaceFromPki(pki, { maximumSessionExpiryInHours: 1 });
  return { ...namespace, topicSpacesConfiguration: { ...namespace.topicSpacesConfiguration, maximumClientSessionsPerAuthenticationName: 10_000_000 } };
}

/** The reference, in memory or (`redisUrl`) as an instance of a namespace kept in Redis. */
export async function startReference(pki: LoadedPki, redisUrl?: string): Promise<BenchBroker> {
  const broker = await startReferenceBroker({ namespace: benchNamespace(pki), tls: serverTlsFromPki(pki), ...(redisUrl ? { redis: { url: redisUrl } } : {}) });
  return { name: 'reference', url: broker.url, ...(broker.wsUrl ? { wsUrl: broker.wsUrl } : {}), stop: () => broker.stop() };
}

/**
 * Plain aedes behind the TLS server options the reference uses, TCP_NODELAY included, over TLS and over
 * WebSockets on the same TLS (ws and its stream adapter, as aedes' own examples serve it).
 */
export async function startPlainAedes(pki: LoadedPki): Promise<BenchBroker> {
  const broker = await Aedes.createBroker();
  const tls = { ...serverTlsFromPki(pki), requestCert: true, rejectUnauthorized: false, ca: [pki.read(pki.manifest.ca.intermediate.certificate)] };
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer(tls, (socket: TLSSocket) => broker.handle(socket));
  server.on('connection', track);
  const webSockets = createHttpsServer(tls);
  webSockets.on('connection', track);
  new WebSocketServer({ server: webSockets, perMessageDeflate: false }).on('connection', (socket) => broker.handle(createWebSocketStream(socket)));
  const listen = async (listening: { listen(port: number, host: string): unknown; address(): unknown }) => {
    listening.listen(0, '127.0.0.1');
    await once(listening as Server, 'listening');
    return (listening.address() as AddressInfo).port;
  };
  const port = await listen(server);
  const wsPort = await listen(webSockets);
  return {
    name: 'aedes',
    url: `mqtts://127.0.0.1:${port}`,
    wsUrl: `wss://127.0.0.1:${wsPort}/mqtt`,
    async stop() {
      const closed = Promise.all([new Promise((resolve) => server.close(resolve)), new Promise((resolve) => webSockets.close(resolve))]);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await closed;
    },
  };
}

const MOSQUITTO_PATHS = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

/** The mosquitto binary, or undefined when it is not installed. */
export function findMosquitto(): string | undefined {
  for (const path of MOSQUITTO_PATHS) if (spawnSync(path, ['-h']).error === undefined) return path;
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** mosquitto with the same server certificate, requiring a client certificate from the PKI's CAs. */
export async function startMosquitto(pki: LoadedPki, binary: string): Promise<BenchBroker> {
  const dir = temporaryDir();
  const port = await freePort();
  const cafile = join(dir, 'clients-ca.pem');
  writeFileSync(cafile, pki.read(pki.manifest.ca.intermediate.certificate) + pki.rootCaPem);
  const tls = serverTlsFromPki(pki);
  writeFileSync(join(dir, 'server.pem'), tls.cert);
  writeFileSync(join(dir, 'server.key'), tls.key);
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [
      // Run as whoever runs the benchmark: mosquitto started as root would otherwise switch to its own
      // user and could not read the private temporary folder.
      `user ${userInfo().username}`,
      'persistence false',
      'log_dest none',
      `listener ${port} 127.0.0.1`,
      `cafile ${cafile}`,
      `certfile ${join(dir, 'server.pem')}`,
      `keyfile ${join(dir, 'server.key')}`,
      'require_certificate true',
      // As the reference and plain aedes here: no Nagle delay on small writes.
      'set_tcp_nodelay true',
      'allow_anonymous true',
      'max_keepalive 65535',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(binary, ['-c', config], { stdio: 'ignore' });
  // Wait until it accepts TCP connections.
  const deadline = Date.now() + 5000;
  for (;;) {
    const socket = await new Promise<Socket | undefined>((resolve) => {
      const attempt = new Socket();
      attempt.once('connect', () => resolve(attempt));
      attempt.once('error', () => resolve(undefined));
      attempt.connect(port, '127.0.0.1');
    });
    if (socket) {
      socket.destroy();
      break;
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('mosquitto did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    name: 'mosquitto',
    url: `mqtts://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}
