#!/usr/bin/env node
// mqtt-multisession-conformance run|broker|certs|token|probe|provision: the tool's one command. Each
// subcommand is the module `npm run <script>` starts in this repository, loaded only when asked for.
import { EXIT_USAGE, runCommand, type Command } from '../common/cli.ts';
import { PACKAGE_NAME, packageVersion } from '../common/package.ts';

interface Subcommand {
  summary: string;
  load(): Promise<{ command: Command }>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  run: { summary: 'run the conformance scenarios against the embedded reference broker or a target', load: () => import('./cli.ts') },
  broker: { summary: 'start the reference broker (an Event Grid MQTT namespace) as a process', load: () => import('../reference/cli.ts') },
  certs: { summary: 'make (or reuse) the test PKI: CA, server and client certificates', load: () => import('../certs/cli.ts') },
  token: { summary: "print a token of the set's local issuer for an identity (CUSTOM-JWT)", load: () => import('../certs/token-cli.ts') },
  probe: { summary: 'what a run would find at a remote target, and what it would skip', load: () => import('./probe-cli.ts') },
  provision: { summary: 'an az script and ARM template that register the identities on a namespace', load: () => import('../provision/cli.ts') },
};

export const USAGE = `usage: ${PACKAGE_NAME} <command> [options]

commands:
${Object.entries(SUBCOMMANDS).map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary}`).join('\n')}

  ${PACKAGE_NAME} <command> --help   the options of a command
  ${PACKAGE_NAME} --version          the version of this tool

pki/, reports/ and provisioning/ are read and written in the current folder.`;

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const subcommand = first === 'help' && rest[0] ? SUBCOMMANDS[rest[0]] : undefined;
    if (subcommand) return console.log((await subcommand.load()).command.usage);
    return console.log(USAGE);
  }
  if (first === '--version' || first === '-v') return console.log(packageVersion());
  const subcommand = Object.hasOwn(SUBCOMMANDS, first) ? SUBCOMMANDS[first] : undefined;
  if (!subcommand) {
    console.error(`error: ${first.startsWith('-') ? `unknown option ${first}` : `no command "${first}"`}\n${USAGE}`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  await runCommand((await subcommand.load()).command, rest);
}

await main(process.argv.slice(2));
