// npm run certs [-- --out DIR --force]: writes the test PKI, or reuses a valid set already there.
import { parseArgs } from 'node:util';
import { isEntryPoint, runCommand, type Command } from '../common/cli.ts';
import { DEFAULT_PKI_DIR, ensurePki } from './pki.ts';

const USAGE = `usage: mqtt-multisession-conformance certs [--out DIR] [--force]
  --out DIR   folder for the set (default: ${DEFAULT_PKI_DIR}/)
  --force     make a new set even when a valid one is there`;

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { out: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return console.log(USAGE);
  await ensurePki({ outDir: values.out, force: values.force, log: (line) => console.log(line) });
}

export const command: Command = { usage: USAGE, main };

// `npm run certs` and the tests start this module directly; the tool reaches it through runner/main.ts.
if (isEntryPoint(import.meta.url)) await runCommand(command, process.argv.slice(2));
