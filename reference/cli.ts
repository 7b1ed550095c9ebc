// npm run broker [-- --namespace FILE --host 127.0.0.1 --port 8883]: the reference broker as a
// long-running process, for device teams and for runs against a separately started target.
import { appendFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';
import { isEntryPoint, runCommand, wholeNumberFlag, type Command } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki, serverTlsFromPki } from '../certs/manifest.ts';
import { DEFAULT_PKI_DIR, ensurePki, serverNames } from '../certs/pki.ts';
import { clientUrls, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, isWildcardHost, startReferenceBroker } from './broker.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { maximumSessionExpirySeconds } from '../eventgrid/namespace.ts';
import { readNamespaceFile } from '../eventgrid/namespace-file.ts';
import { docsLink } from '../common/package.ts';

const USAGE = `usage: mqtt-multisession-conformance broker [--namespace FILE] [--host 127.0.0.1] [--port 8883] [--pki DIR] [--server-name NAME ...] [--lifecycle FILE]
                                          [--handshake-timeout MS] [--connect-timeout MS]
  --namespace FILE   namespace configuration (JSON, or an ARM template); default: every identity of
                     the PKI set, with the permissions the suite uses. A file that declares no
                     caCertificates gets the PKI's intermediate CA (${docsLink('access-control.md')})
  --host HOST        address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --server-name NAME a DNS name or IP address by which other devices or containers reach this broker
                     (repeatable): added to the server certificate besides localhost, 127.0.0.1 and ::1
  --port PORT        port to listen on (default 8883; 0 picks a free one)
  --pki DIR          PKI set for the server certificate, made if missing (default ${DEFAULT_PKI_DIR}/)
  --lifecycle FILE   also append session life cycle events to FILE as NDJSON
  --handshake-timeout MS  close a connection whose TLS handshake is not done MS after it opened (default ${DEFAULT_HANDSHAKE_TIMEOUT_MS})
  --connect-timeout MS    close a connection that has sent no CONNECT MS after its handshake (default ${DEFAULT_CONNECT_TIMEOUT_MS})`;

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      namespace: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8883' },
      pki: { type: 'string', default: DEFAULT_PKI_DIR },
      lifecycle: { type: 'string' },
      'server-name': { type: 'string', multiple: true },
      'handshake-timeout': { type: 'string', default: String(DEFAULT_HANDSHAKE_TIMEOUT_MS) },
      'connect-timeout': { type: 'string', default: String(DEFAULT_CONNECT_TIMEOUT_MS) },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  const port = wholeNumberFlag(values.port, '--port', 0, 65535);
  const handshakeTimeoutMs = wholeNumberFlag(values['handshake-timeout'], '--handshake-timeout', 1, 600_000);
  const connectTimeoutMs = wholeNumberFlag(values['connect-timeout'], '--connect-timeout', 1, 600_000);
  if (values.lifecycle) {
    try {
      appendFileSync(values.lifecycle, '');
    } catch (error) {
      throw new UserError(`--lifecycle ${values.lifecycle} cannot be written to: ${(error as NodeJS.ErrnoException).code}`);
    }
  }
  const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

  await ensurePki({ outDir: values.pki, serverNames: serverNames(values['server-name'] ?? []), log });
  const pki = loadPki(values.pki);
  // A file that declares no CA certificates gets the PKI's intermediate CA; an empty list is kept (and warned of).
  const namespace = values.namespace
    ? readNamespaceFile(values.namespace, { defaultCaCertificates: namespaceFromPki(pki).caCertificates })
    : namespaceFromPki(pki);
  const broker = await startReferenceBroker({
    namespace,
    tls: serverTlsFromPki(pki),
    host: values.host,
    port,
    lifecycleFile: values.lifecycle,
    handshakeTimeoutMs,
    connectTimeoutMs,
    log,
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new UserError(`${values.host}:${port} is already in use: choose another --port`);
    if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') throw new UserError(`cannot listen on ${values.host}: no such local address`);
    if (error.code === 'EACCES') throw new UserError(`not allowed to listen on ${values.host}:${port}: choose a port above 1023`);
    throw error;
  });

  // Ctrl-C stops it from the moment it listens, also while the listing below is printed.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      console.log('stopping');
      void broker.stop().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const { topicSpacesConfiguration: limits } = namespace;
  const localAddresses = Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
  const { urls, unnamed } = clientUrls(values.host, broker.port, pki.manifest.server, localAddresses);
  if (isWildcardHost(values.host)) {
    console.log(`reference broker for namespace "${namespace.name}" listening on every interface (${values.host}), port ${broker.port}; clients connect to:`);
    for (const url of urls) console.log(`  ${url}`);
    const names = pki.manifest.server.dns.map((name) => name.toLowerCase());
    const missing = [...(names.includes(hostname().toLowerCase()) ? [] : [hostname()]), ...unnamed];
    if (missing.length) console.log(`  (not as ${missing.join(', ')}: the server certificate does not name them; add each with --server-name NAME)`);
  } else {
    console.log(`reference broker for namespace "${namespace.name}" listening on ${broker.url}`);
  }
  console.log(`  server CA: ${pki.dir}/${pki.manifest.ca.root.certificate}; server certificate names: ${[...pki.manifest.server.dns, ...pki.manifest.server.ip].join(', ')}`);
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
}

export const command: Command = { usage: USAGE, main };

// `npm run broker` and the tests start this module directly; the tool reaches it through runner/main.ts.
if (isEntryPoint(import.meta.url)) await runCommand(command, process.argv.slice(2));
