// The one command: subcommands, --help at both levels, --version, and exit 2 for a command or option
// it does not know. (runner/package.test.ts runs the same from the installed package.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScript } from '../common/test-support.ts';

const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

describe('mqtt-multisession-conformance', () => {
  it('lists its subcommands for --help and for no argument at all', async () => {
    for (const args of [['--help'], []]) {
      const help = await runScript('runner/main.ts', args);
      expect(help.exitCode).toBe(0);
      expect([...help.stdout.matchAll(/^  (\w+) {2,}/gm)].map((match) => match[1])).toEqual(['run', 'broker', 'certs', 'token', 'probe', 'provision']);
    }
  });

  it('prints the package version', async () => {
    const run = await runScript('runner/main.ts', ['--version']);
    expect(run.stdout.trim()).toBe(version);
  });

  it.each([
    [['provision', '--help']],
    [['help', 'provision']],
  ])('shows the options of a subcommand for %j', async (args) => {
    const help = await runScript('runner/main.ts', args);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^usage: mqtt-multisession-conformance provision --namespace NAME --resource-group RG/);
  });

  it('passes the arguments after the subcommand to it', async () => {
    const run = await runScript('runner/main.ts', ['provision', '--namespace', 'x']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe('error: --namespace NAME and --resource-group RG are both needed');
  });

  it.each([
    [['conformance'], /^error: no command "conformance"/],
    [['--verbose'], /^error: unknown option --verbose/],
  ])('exits 2 for %j, with the usage', async (args, message) => {
    const run = await runScript('runner/main.ts', args);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/^usage: mqtt-multisession-conformance <command>/m);
  });
});
