// npm run certs [-- --out DIR --force]: writes the test PKI, or reuses a valid set already there.
import { parseArgs } from 'node:util';
import { runCli } from '../common/cli.ts';
import { DEFAULT_PKI_DIR, ensurePki } from './pki.ts';

const USAGE = `usage: npm run certs [-- --out DIR] [--force]
  --out DIR   folder for the set (default: ${DEFAULT_PKI_DIR}/)
  --force     make a new set even when a valid one is there`;

await runCli(USAGE, async () => {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return console.log(USAGE);
  await ensurePki({ outDir: values.out, force: values.force, log: (line) => console.log(line) });
});
