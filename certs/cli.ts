// npm run certs [-- --out DIR --renew --server-name NAME --mark-registered NAMESPACE]: writes the test
// PKI, or reuses a valid set already there. A set registered on a namespace is replaced only with
// --renew (or --force), and then kept beside the new one.
import { parseArgs } from 'node:util';
import { isEntryPoint, runCommand, type Command } from '../common/cli.ts';
import { DEFAULT_PKI_DIR, ensurePki, markRegistered, serverNames } from './pki.ts';
import { toolCommand } from '../common/package.ts';

const USAGE = `usage: mqtt-multisession-conformance certs [--out DIR] [--renew] [--server-name NAME ...] [--mark-registered NAMESPACE]
  --out DIR                   folder for the set (default: ${DEFAULT_PKI_DIR}/)
  --renew                     make a new set; a set marked as registered is kept beside it as DIR.replaced-DATE
  --force                     the same as --renew (also for a corrupt set)
  --server-name NAME          a DNS name or IP address the reference's server certificate must hold besides
                              localhost, 127.0.0.1 and ::1 (repeatable); a set without it gets a new server
                              certificate from its own CA, its client certificates unchanged
  --mark-registered NAMESPACE mark the set as registered on NAMESPACE (${toolCommand('provision')} does this): no run
                              replaces it unasked, and runs warn 30 days before it expires`;

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      force: { type: 'boolean' },
      renew: { type: 'boolean' },
      'server-name': { type: 'string', multiple: true },
      'mark-registered': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  const log = (line: string) => console.log(line);
  const { dir } = await ensurePki({
    outDir: values.out,
    force: values.force,
    renew: values.renew,
    serverNames: serverNames(values['server-name'] ?? []),
    log,
  });
  if (values['mark-registered']) {
    markRegistered(dir, values['mark-registered']);
    log(`marked ${dir} as registered on namespace ${values['mark-registered']}: runs will not replace it, and will warn before it expires`);
  }
}

export const command: Command = { usage: USAGE, main };

// `npm run certs` and the tests start this module directly; the tool reaches it through runner/main.ts.
if (isEntryPoint(import.meta.url)) await runCommand(command, process.argv.slice(2));
