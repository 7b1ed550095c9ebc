// Guards for the documentation: each command's flag table in docs/ lists exactly the flags of the
// command's own usage text (and the command accepts every one of them), every relative link in
// README.md and docs/*.md leads to a file that exists (and, with a #fragment, to a heading there), and
// the figures the pages quote (identity and client counts, the sample runs, the PKI's sizes) are as they are.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

// The README's sample run: the scenario count and the verdict counts a default run reports when every
// scenario passes, worked out from the features and the catalogue as the run counts them (each
// scenario once per transport; a verdict per rule, method, transport and version).
describe("the figures of the README's sample run", () => {
  it('quote the scenarios of a default run and its verdicts as they are', async () => {
    const { loadPlannedScenarios } = await import('./feature-pickles.ts');
    const { methodOfTags, rulesOfTags, versionOfTags } = await import('../rules/tags.ts');
    const { ruleVerdicts, totals } = await import('../report/verdicts.ts');
    const { TRANSPORTS } = await import('../rules/transports.ts');
    const planned = loadPlannedScenarios();
    const scenarios = TRANSPORTS.flatMap((transport) =>
      planned.map((p) => ({ name: p.name, location: p.uri, tags: p.tags, rules: rulesOfTags(p.tags), version: versionOfTags(p.tags), method: methodOfTags(p.tags), transport, status: 'passed' as const, durationMs: 0, observations: [] })),
    );
    const { passed, notRun } = totals(ruleVerdicts(scenarios, { transports: TRANSPORTS }));
    const readme = readFileSync('README.md', 'utf8');
    const closing = /^(\d+) scenarios in [\d.]+ s against embedded reference broker at mqtts:\S+ and wss:\S+; (\d+) rule\/version pairs not run\nrules: (\d+) passed, 0 failed, 0 skipped$/m.exec(readme);
    expect(closing, 'the sample run in README.md ends with its scenario count and verdicts').not.toBeNull();
    expect({ scenarios: Number(closing![1]), notRun: Number(closing![2]), passed: Number(closing![3]) }).toEqual({ scenarios: scenarios.length, notRun, passed });
    // The progress lines docs/suite-and-reports.md shows count both transports' scenarios, which run at once.
    const progress = [...readFileSync('docs/suite-and-reports.md', 'utf8').matchAll(/`(?:\d+|\[ *\d+)\/(\d+)/g)].map(([, total]) => Number(total));
    expect(progress).toHaveLength(2);
    for (const total of progress) expect(total).toBe(scenarios.length);
  });
});

/** A sample line as the output has it, whatever the run: loopback ports, the run's time and its report folder. */
function normalised(line: string, reportDir?: string): string {
  const inReports = reportDir ? line.replaceAll(`${reportDir}/`, 'reports/') : line;
  return inReports.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT').replace(/ in \d+\.\d s against /, ' in N s against ');
}

/**
 * The sample lines that do not appear, in order, in the output: a line of the sample is a line of the
 * output, or with `…` in it the pieces between them, in order, within one line; a `…` line alone
 * stands for lines left out.
 */
function missingSampleLines(sample: string[], output: string[]): string[] {
  const missing: string[] = [];
  let at = 0;
  for (const line of sample.filter((text) => text.trim() !== '…')) {
    const pieces = line.split('…');
    const fits = (candidate: string) => {
      if (pieces.length === 1) return candidate === line;
      let from = 0;
      return pieces.every((piece) => {
        const found = candidate.indexOf(piece, from);
        if (found < 0 || (from === 0 && pieces[0] !== '' && found !== 0)) return false;
        from = found + piece.length;
        return true;
      });
    };
    const found = output.findIndex((candidate, index) => index >= at && fits(candidate));
    if (found < 0) missing.push(line);
    else at = found + 1;
  }
  return missing;
}

describe('the --break sample in docs/suite-and-reports.md', () => {
  it('is what the command it names prints, shortened', async () => {
    const page = readFileSync('docs/suite-and-reports.md', 'utf8');
    const [, command, block] = /a run with S6 broken on purpose \(`npm run conformance -- ([^`]+)`\),[\s\S]*?```\n([\s\S]*?)```/.exec(page) ?? [];
    expect(command, 'the page names the command of its sample').toBeDefined();
    const { runConformance } = await import('../testkit/conformance-run.ts');
    const { temporaryDir } = await import('../common/test-support.ts');
    const reportDir = temporaryDir();
    const run = await runConformance(reportDir, ['--identities', inject('pkiDir'), ...command!.split(' ')]);
    expect(run.exitCode, run.stderr).toBe(1);
    const output = run.stdout.split('\n').map((line) => normalised(line, reportDir));
    const sample = block!.trimEnd().split('\n').filter((line) => line !== '').map((line) => normalised(line));
    expect(sample.length).toBeGreaterThan(10);
    expect(missingSampleLines(sample, output)).toEqual([]);
    // Its figures in full, not only as pieces: the scenario count, the pairs not run and the verdicts.
    for (const closing of sample.filter((line) => / scenarios in | passed, /.test(line))) expect(output).toContain(closing);
  }, 120_000);
});

// The sizes docs/ci.md gives for a default PKI set, measured on one: its keys are random, so a set
// differs from the next by a few hundred bytes, and the figures are checked to within 3%.
describe('the sizes of the PKI in docs/ci.md', () => {
  const measure = (pipeline: string) => Number(execFileSync('sh', ['-c', `cd "$(dirname "$1")" && ${pipeline.replaceAll(' pki', ' "$(basename "$1")"')} | wc -c`, 'sh', inject('pkiDir')], { encoding: 'utf8' }).trim());
  const quoted = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1]?.replaceAll(',', ''));
  const page = readFileSync('docs/ci.md', 'utf8');
  const near = (figure: number, measured: number) => expect(Math.abs(figure - measured) / measured, `${figure} quoted, ${measured} measured`).toBeLessThan(0.03);

  it('quote the set as a base64 secret and compressed harder, both over the 48 KB a secret holds', () => {
    const base64 = quoted(page, /`tar czf - pki \| base64` is \*\*([\d,]+) bytes\*\*/);
    near(base64, measure('tar czf - pki | base64'));
    const xz = quoted(page, /`tar cf - --exclude '\*chain\*' pki \| xz -9 \| base64` gives ([\d,]+) bytes/);
    near(xz, measure("tar cf - --exclude '*chain*' pki | xz -9 | base64"));
    for (const figure of [base64, xz]) expect(figure).toBeGreaterThan(49_152);
  });

  it.skipIf(spawnSync('gpg', ['--version']).status !== 0)('quote the encrypted set as gpg makes it', () => {
    const encrypted = quoted(page, /`pki\.tar\.gz\.gpg` \| committed at the root of your repository \| ([\d,]+) bytes/);
    const home = mkdtempSync(join(tmpdir(), 'mmc-gpg-'));
    try {
      near(encrypted, measure(`tar czf - pki | GNUPGHOME=${home} gpg --quiet --batch --pinentry-mode loopback --passphrase x --symmetric --cipher-algo AES256 --output -`));
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
