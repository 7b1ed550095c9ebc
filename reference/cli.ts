// npm run broker [-- --namespace FILE --host 127.0.0.1 --port 8883]: the reference broker as a
// long-running process, for device teams and for runs against a separately started target.
import cluster from 'node:cluster';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';
import { isEntryPoint, redisUrlFlag, runCommand, wholeNumberFlag, type Command } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki, serverTlsFromPki } from '../certs/manifest.ts';
import { DEFAULT_PKI_DIR, ensurePki, serverNames } from '../certs/pki.ts';
import { clientUrls, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, isWildcardHost, startReferenceBroker } from './broker.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { maximumSessionExpirySeconds } from '../eventgrid/namespace.ts';
import { readNamespaceFile } from '../eventgrid/namespace-file.ts';
import { docsLink } from '../common/package.ts';
import { startWebhookService, WEBHOOK_PASSWORDS, withWebhook } from './webhook-service.ts';

/** How long a stop may take before the process exits anyway (its sessions' hand-over unfinished: their leases run out). */
const STOP_DEADLINE_MS = 15_000;

const USAGE = `usage: mqtt-multisession-conformance broker [--namespace FILE] [--host 127.0.0.1] [--port 8883] [--ws-port 8443|off] [--pki DIR] [--server-name NAME ...] [--lifecycle FILE]
                                          [--handshake-timeout MS] [--connect-timeout MS] [--webhook] [--redis URL [--instances N]]
  --namespace FILE   namespace configuration (JSON, or an ARM template); default: every identity of
                     the PKI set, with the permissions the suite uses. A file that declares no
                     caCertificates gets the PKI's intermediate CA (${docsLink('access-control.md')})
  --host HOST        address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --server-name NAME a DNS name or IP address by which other devices or containers reach this broker
                     (repeatable): added to the server certificate besides localhost, 127.0.0.1 and ::1
  --port PORT        port for MQTT over TLS, mqtts:// (default 8883; 0 picks a free one)
  --ws-port PORT     port for MQTT over WebSockets, wss://HOST:PORT/mqtt (default 8443; 0 picks a
                     free one; off: none). Same certificates, same namespace, same sessions
  --ws-no-client-certificate  the wss port asks for no client certificate: browsers can connect (headless
                     Chromium cancels a handshake that asks for one) and authenticate by token or webhook
  --pki DIR          PKI set for the server certificate, made if missing (default ${DEFAULT_PKI_DIR}/)
  --lifecycle FILE   also append session life cycle events to FILE as NDJSON
  --handshake-timeout MS  close a connection whose TLS handshake is not done MS after it opened (default ${DEFAULT_HANDSHAKE_TIMEOUT_MS})
  --connect-timeout MS    close a connection that has sent no CONNECT MS after its handshake (default ${DEFAULT_CONNECT_TIMEOUT_MS})
  --webhook          authenticate by webhook: start the test webhook on loopback and send it every CONNECT
                     that presents no custom JWT; its answer is chosen by the password (${Object.values(WEBHOOK_PASSWORDS).join(', ')})
  --redis URL        join the namespace kept in this Redis (redis://HOST:PORT[/DB]) beside its other
                     instances: sessions, subscriptions, queued and retained messages live there and
                     survive restarts (docs/scaling.md). Without it everything is in this process's
                     memory, and a restart forgets it all
  --instances N      with --redis: N instances of the namespace in N worker processes sharing the ports
                     (node:cluster spreads the connections; default 1)`;

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      namespace: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8883' },
      'ws-port': { type: 'string', default: '8443' },
      'ws-no-client-certificate': { type: 'boolean' },
      pki: { type: 'string', default: DEFAULT_PKI_DIR },
      lifecycle: { type: 'string' },
      'server-name': { type: 'string', multiple: true },
      'handshake-timeout': { type: 'string', default: String(DEFAULT_HANDSHAKE_TIMEOUT_MS) },
      'connect-timeout': { type: 'string', default: String(DEFAULT_CONNECT_TIMEOUT_MS) },
      webhook: { type: 'boolean' },
      redis: { type: 'string' },
      instances: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  const port = wholeNumberFlag(values.port, '--port', 0, 65535);
  const wsPort = values['ws-port'] === 'off' ? null : wholeNumberFlag(values['ws-port'], '--ws-port', 0, 65535, 'or off');
  const handshakeTimeoutMs = wholeNumberFlag(values['handshake-timeout'], '--handshake-timeout', 1, 600_000);
  const connectTimeoutMs = wholeNumberFlag(values['connect-timeout'], '--connect-timeout', 1, 600_000);
  if (values.lifecycle) {
    try {
      appendFileSync(values.lifecycle, '');
    } catch (error) {
      throw new UserError(`--lifecycle ${values.lifecycle} cannot be written to: ${(error as NodeJS.ErrnoException).code}`);
    }
  }
  if (values.redis !== undefined) redisUrlFlag(values.redis);
  const instances = wholeNumberFlag(values.instances, '--instances', 1, 64);
  if (instances > 1 && !values.redis) throw new UserError('--instances N needs --redis URL: instances are one namespace only through Redis');
  const log = (line: string) => console.log(`${new Date().toISOString()}${cluster.isWorker ? ` [instance ${cluster.worker!.id}]` : ''} ${line}`);

  await ensurePki({ outDir: values.pki, serverNames: serverNames(values['server-name'] ?? []), log });
  if (instances > 1 && cluster.isPrimary) return runInstances(instances);
  const pki = loadPki(values.pki);
  // A file that declares no CA certificates gets the PKI's intermediate CA; an empty list is kept (and warned of).
  const loaded = values.namespace
    ? readNamespaceFile(values.namespace, { defaultCaCertificates: namespaceFromPki(pki).caCertificates })
    : namespaceFromPki(pki);
  // The test webhook allows a client with the attributes the namespace registers for its name.
  const webhook = values.webhook
    ? await startWebhookService({ attributesOf: (name) => loaded.clients.find((client) => client.authenticationName.toLowerCase() === name.toLowerCase())?.attributes })
    : undefined;
  const namespace = webhook ? withWebhook(loaded, webhook.url) : loaded;
  const broker = await startReferenceBroker({
    namespace,
    tls: serverTlsFromPki(pki),
    host: values.host,
    port,
    wsPort,
    wsClientCertificates: values['ws-no-client-certificate'] ? 'none' : 'request',
    lifecycleFile: values.lifecycle,
    handshakeTimeoutMs,
    connectTimeoutMs,
    ...(values.redis ? { redis: { url: values.redis } } : {}),
    log,
  }).catch((error: NodeJS.ErrnoException) => {
    // shared-namespace.ts's REDIS_UNREACHABLE (not imported: only --redis loads the Redis client).
    if (error.code === 'EREDISUNREACHABLE') throw new UserError(`--redis: ${error.message}`);
    if (error.code === 'EADDRINUSE') {
      const flag = (error as { port?: number }).port === wsPort && wsPort !== port ? '--ws-port' : '--port';
      throw new UserError(`${values.host}:${flag === '--port' ? port : wsPort} is already in use: choose another ${flag}`);
    }
    if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') throw new UserError(`cannot listen on ${values.host}: no such local address`);
    if (error.code === 'EACCES') throw new UserError(`not allowed to listen on ${values.host}:${port}: choose a port above 1023`);
    throw error;
  });

  // Ctrl-C stops it from the moment it listens, also while the listing below is printed.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      console.log(broker.instance ? 'stopping: MQTT 5 clients get DISCONNECT 0x8B; their sessions stay in Redis' : 'stopping: MQTT 5 clients get DISCONNECT 0x8B');
      // A Redis that is stalled (not gone: its connections open, nothing answered) would hold the stop for ever.
      setTimeout(() => {
        console.error(`error: the broker had not stopped ${STOP_DEADLINE_MS / 1000} s after the signal${broker.instance ? ' (its Redis does not answer)' : ''}: exiting`);
        process.exit(1);
      }, STOP_DEADLINE_MS).unref();
      void broker.stop().then(() => webhook?.stop()).then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const { topicSpacesConfiguration: limits } = namespace;
  const localAddresses = Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
  const { urls, unnamed } = clientUrls(values.host, broker.port, pki.manifest.server, localAddresses);
  const wsUrls = broker.wsPort === undefined ? [] : clientUrls(values.host, broker.wsPort, pki.manifest.server, localAddresses, 'wss').urls;
  if (isWildcardHost(values.host)) {
    const ports = broker.wsPort === undefined ? `port ${broker.port}` : `ports ${broker.port} (TLS) and ${broker.wsPort} (WebSockets)`;
    console.log(`reference broker for namespace "${namespace.name}" listening on every interface (${values.host}), ${ports}; clients connect to:`);
    for (const url of [...urls, ...wsUrls]) console.log(`  ${url}`);
    const names = pki.manifest.server.dns.map((name) => name.toLowerCase());
    const missing = [...(names.includes(hostname().toLowerCase()) ? [] : [hostname()]), ...unnamed];
    if (missing.length) console.log(`  (not as ${missing.join(', ')}: the server certificate does not name them; add each with --server-name NAME)`);
  } else {
    console.log(`reference broker for namespace "${namespace.name}" listening on ${[broker.url, ...wsUrls].join(' and ')}`);
  }
  console.log(
    broker.instance
      ? `  sessions, subscriptions, queued and retained messages: in Redis at ${values.redis}, shared with the namespace's other instances; this is instance ${broker.instance}`
      : '  sessions, subscriptions, queued and retained messages: in this process\'s memory only; a restart forgets them all (--redis URL keeps them)',
  );
  console.log(`  server CA: ${pki.dir}/${pki.manifest.ca.root.certificate}; server certificate names: ${[...pki.manifest.server.dns, ...pki.manifest.server.ip].join(', ')}`);
  const { customJwtAuthentication } = namespace.topicSpacesConfiguration.clientAuthentication;
  if (customJwtAuthentication) console.log(`  custom JWT (CUSTOM-JWT): tokens of ${customJwtAuthentication.tokenIssuer} for ${namespace.reference.customJwtAudience}; npm run token -- --identity NAME prints one`);
  if (webhook) console.log(`  webhook authentication: ${webhook.url}, password ${WEBHOOK_PASSWORDS.allow} (allow), ${WEBHOOK_PASSWORDS.deny}, ${WEBHOOK_PASSWORDS.slow}, ${WEBHOOK_PASSWORDS.nonsense}, ${WEBHOOK_PASSWORDS.fail}`);
  const cas = namespace.caCertificates.length;
  if (cas === 0) console.log('  warning: 0 CA certificates: every certificate-chain client will be refused (only ThumbprintMatch clients can connect)');
  else console.log(`  ${cas} CA certificate${cas > 1 ? 's' : ''}: ${namespace.caCertificates.map((ca) => ca.name).join(', ')}`);
  console.log(
    `  sessions per authentication name: ${limits.maximumClientSessionsPerAuthenticationName}; maximum session expiry: ${maximumSessionExpirySeconds(namespace)} s`,
  );
  const fixed = namespace.reference.limits;
  console.log(
    `  limits: names 128 characters; offline queue ${fixed.sessionQueueMessages} messages / ${fixed.sessionQueueBytes} bytes; ${fixed.subscriptionsPerSession} subscriptions; ` +
      `topics ${fixed.topicBytes} bytes / ${fixed.topicLevels} levels; Keep Alive ${fixed.keepAliveSeconds} s; QoS 1; packets ${fixed.maximumPacketSize} bytes`,
  );
  console.log(`  ${namespace.clients.length} registered clients:`);
  for (const client of namespace.clients) {
    const { validationScheme } = client.clientCertificateAuthentication;
    console.log(`    ${client.authenticationName.padEnd(36)} ${validationScheme.padEnd(34)} ${client.state}`);
  }
  console.log(`  ${namespace.permissionBindings.length} permission bindings:`);
  for (const binding of namespace.permissionBindings) {
    const templates = namespace.topicSpaces.find((space) => space.name.toLowerCase() === binding.topicSpaceName.toLowerCase())?.topicTemplates ?? [];
    console.log(`    ${binding.clientGroupName.padEnd(24)} ${binding.permission.padEnd(10)} ${templates.join(' ')}`);
  }
  if (!namespace.permissionBindings.length) console.log('    (none: no client may publish or subscribe anywhere)');
  console.log('press Ctrl-C to stop');

  await stopped;
  console.log('stopped');
  // A worker of --instances: its channel to the primary would keep it running.
  if (cluster.isWorker) cluster.worker!.disconnect();
}

/**
 * The primary of --instances N: N workers run this command with the same arguments, each an instance
 * of the namespace on the one port (node:cluster hands each new connection to a worker). A signal is
 * passed on to every worker (each sends its MQTT 5 clients DISCONNECT 0x8B); exits once all have.
 */
async function runInstances(count: number): Promise<void> {
  const workers = Array.from({ length: count }, () => cluster.fork());
  const stop = (signal: NodeJS.Signals) => () => {
    for (const worker of workers) worker.process.kill(signal);
  };
  process.once('SIGINT', stop('SIGINT'));
  process.once('SIGTERM', stop('SIGTERM'));
  const codes = await Promise.all(workers.map(async (worker) => ((await once(worker, 'exit')) as [number | null])[0]));
  console.log(`stopped ${count} instances`);
  if (codes.some((code) => code !== 0)) process.exitCode = 1;
}

export const command: Command = { usage: USAGE, main };

// `npm run broker` and the tests start this module directly; the tool reaches it through runner/main.ts.
if (isEntryPoint(import.meta.url)) await runCommand(command, process.argv.slice(2));
