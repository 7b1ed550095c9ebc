// Guards for the documentation: each command's flag table in docs/ lists exactly the flags of the
// command's own usage text (and the command accepts every one of them), and every relative link in
// README.md and docs/*.md leads to a file that exists (and, with a #fragment, to a heading there).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runScript } from '../common/test-support.ts';

/**
 * Each command (as `npm run` names it here, and as the installed tool's subcommand), its entry point,
 * and the page whose "Flags of `npm run …`" heading holds its table.
 */
const COMMANDS = [
  { command: 'npm run conformance', subcommand: 'run', script: 'runner/cli.ts', page: 'docs/suite-and-reports.md' },
  { command: 'npm run broker', subcommand: 'broker', script: 'reference/cli.ts', page: 'docs/reference-broker.md' },
  { command: 'npm run certs', subcommand: 'certs', script: 'certs/cli.ts', page: 'docs/pki.md' },
  { command: 'npm run probe', subcommand: 'probe', script: 'runner/probe-cli.ts', page: 'docs/your-namespace.md' },
  { command: 'npm run provision', subcommand: 'provision', script: 'provision/cli.ts', page: 'docs/your-namespace.md' },
  // A development command of this repository, not a subcommand of the tool: its usage names `npm run`.
  { command: 'npm run stress', usage: 'usage: npm run stress', script: 'stress/cli.ts', page: 'docs/stress.md' },
];

const FLAG = /--[a-z][a-z0-9-]*/g;

/** The flags a usage text names, and whether each takes a value (`--port PORT`) or stands alone. */
function usageFlags(usage: string): Map<string, boolean> {
  const flags = new Map<string, boolean>();
  for (const flag of usage.match(FLAG) ?? []) flags.set(flag, false);
  // An option line: two spaces, the flag, then one space and a value name, or spaces and its meaning.
  for (const [, flag, value] of usage.matchAll(/^ {2}(--[a-z][a-z0-9-]*)( \S+)?/gm)) flags.set(flag!, value !== undefined);
  return flags;
}

/** The rows of the first table under the heading "Flags of `COMMAND`" in a page. */
function flagTable(markdown: string, command: string): string[] {
  const lines = markdown.split('\n');
  const heading = lines.findIndex((line) => /^#{2,4} /.test(line) && line.includes(`Flags of \`${command}\``));
  if (heading < 0) return [];
  const start = lines.findIndex((line, index) => index > heading && line.startsWith('|'));
  if (start < 0 || lines.slice(heading + 1, start).some((line) => /^#{1,4} /.test(line))) return [];
  const rows: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line);
  }
  return rows;
}

/** The flags a flag table documents: those named in the first cell of each row. */
function documentedFlags(rows: string[]): Set<string> {
  return new Set(rows.flatMap((row) => row.split('|')[1]!.match(FLAG) ?? []));
}

describe.each(COMMANDS)('the flag table of $command', ({ command, subcommand, usage: usageStart, script, page }) => {
  it(`in ${page} lists exactly the flags of its usage text, and the command accepts each`, async () => {
    const help = await runScript(script, ['--help']);
    expect(help.exitCode, help.stderr).toBe(0);
    const usage = help.stdout;
    expect(usage).toContain(usageStart ?? `usage: mqtt-multisession-conformance ${subcommand}`);
    const flags = usageFlags(usage);
    expect(flags.size).toBeGreaterThan(0);

    const rows = flagTable(readFileSync(page, 'utf8'), command);
    expect(rows.length, `${page} has a table under a heading "Flags of \`${command}\`"`).toBeGreaterThan(0);
    const documented = documentedFlags(rows);
    expect([...documented].filter((flag) => !flags.has(flag)), `documented in ${page} but not in the usage of ${command}`).toEqual([]);
    expect([...flags.keys()].filter((flag) => !documented.has(flag)), `in the usage of ${command} but not documented in ${page}`).toEqual([]);

    // The usage text names only flags the command parses: all of them at once, then --help, exit 0.
    const every = [...flags].map(([flag, takesValue]) => (takesValue ? `${flag}=x` : flag));
    const accepted = await runScript(script, [...every, '--help']);
    expect(accepted.stderr).toBe('');
    expect(accepted.exitCode).toBe(0);
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map(([, text]) => anchor(text!)));
}

const pages = ['README.md', ...readdirSync('docs').filter((name) => name.endsWith('.md')).map((name) => join('docs', name))];

describe('the links of the documentation', () => {
  it('covers README.md and the pages in docs/', () => {
    expect(pages.length).toBeGreaterThan(5);
  });

  it.each(pages)('in %s lead to files and headings that exist', (page) => {
    const markdown = readFileSync(page, 'utf8');
    const targets = [...markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target!);
    const broken: string[] = [];
    for (const target of targets) {
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
      const [path, fragment] = target.split('#') as [string, string | undefined];
      const file = path === '' ? page : resolve(dirname(page), path);
      if (!existsSync(file)) broken.push(`${target}: no such file`);
      else if (fragment !== undefined && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(fragment)) {
        broken.push(`${target}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
  });
});

// The figures the docs quote about the default PKI set: its identity count, and the clients the
// reference broker registers from it (as `broker` prints them).
describe('the figures of the default PKI set in the docs', () => {
  it('quote the identity count and the registered-client count as they are', async () => {
    const { IDENTITY_SPECS } = await import('../certs/identities.ts');
    const { loadPki } = await import('../certs/manifest.ts');
    const { namespaceFromPki } = await import('../certs/namespace.ts');
    const identities = IDENTITY_SPECS.length;
    expect(readFileSync('docs/pki.md', 'utf8')).toMatch(new RegExp(`^${identities} identities; rule ids`, 'm'));
    expect(readFileSync('docs/your-namespace.md', 'utf8')).toContain(`identities.json with ${identities} identities\``);
    const clients = namespaceFromPki(loadPki(inject('pkiDir'))).clients.length;
    expect(readFileSync('docs/reference-broker.md', 'utf8')).toMatch(new RegExp(`^  ${clients} registered clients:$`, 'm'));
  });
});
