// npm run broker [-- --namespace FILE --host 127.0.0.1 --port 8883]: the reference broker as a
// long-running process, for device teams and for runs against a separately started target.
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runCli, wholeNumberFlag } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki } from '../certs/manifest.ts';
import { DEFAULT_PKI_DIR, ensurePki } from '../certs/pki.ts';
import { serverTlsFromPki, startReferenceBroker } from './broker.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { maximumSessionExpirySeconds } from '../eventgrid/namespace.ts';
import { readNamespaceFile } from '../eventgrid/namespace-file.ts';

const USAGE = `usage: npm run broker [-- --namespace FILE] [--host 127.0.0.1] [--port 8883] [--pki DIR] [--lifecycle FILE]
  --namespace FILE   namespace configuration (JSON, or an ARM template); default: every identity of
                     the PKI set, with the permissions the suite uses. A file with no caCertificates
                     gets the PKI's intermediate CA (docs/access-control.md)
  --host HOST        address to listen on (default 127.0.0.1)
  --port PORT        port to listen on (default 8883; 0 picks a free one)
  --pki DIR          PKI set for the server certificate, made if missing (default ${DEFAULT_PKI_DIR}/)
  --lifecycle FILE   also append session life cycle events to FILE as NDJSON`;

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: {
      namespace: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8883' },
      pki: { type: 'string', default: DEFAULT_PKI_DIR },
      lifecycle: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  const port = wholeNumberFlag(values.port, '--port', 0, 65535);
  if (values.lifecycle) {
    try {
      appendFileSync(values.lifecycle, '');
    } catch (error) {
      throw new UserError(`--lifecycle ${values.lifecycle} cannot be written to: ${(error as NodeJS.ErrnoException).code}`);
    }
  }
  const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

  await ensurePki({ outDir: values.pki, log });
  const pki = loadPki(values.pki);
  const fromFile = values.namespace ? readNamespaceFile(values.namespace) : undefined;
  const namespace = !fromFile
    ? namespaceFromPki(pki)
    : fromFile.caCertificates.length
      ? fromFile
      : { ...fromFile, caCertificates: namespaceFromPki(pki).caCertificates };
  const broker = await startReferenceBroker({
    namespace,
    tls: serverTlsFromPki(pki),
    host: values.host,
    port,
    lifecycleFile: values.lifecycle,
    log,
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new UserError(`${values.host}:${port} is already in use: choose another --port`);
    if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') throw new UserError(`cannot listen on ${values.host}: no such local address`);
    if (error.code === 'EACCES') throw new UserError(`not allowed to listen on ${values.host}:${port}: choose a port above 1023`);
    throw error;
  });

  const { topicSpacesConfiguration: limits } = namespace;
  console.log(`reference broker for namespace "${namespace.name}" listening on ${broker.url}`);
  console.log(`  server CA: ${pki.dir}/${pki.manifest.ca.root.certificate}`);
  console.log(
    `  sessions per authentication name: ${limits.maximumClientSessionsPerAuthenticationName}; maximum session expiry: ${maximumSessionExpirySeconds(namespace)} s`,
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

  await new Promise<void>((resolve) => {
    const stop = () => {
      console.log('stopping');
      void broker.stop().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('stopped');
});
