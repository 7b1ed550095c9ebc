// The package as a new user gets it, by each install path docs/library.md names: `npm pack` (which
// builds dist/) installed into an empty project, `npx mqtt-multisession-conformance` with --help,
// --version and a run against the embedded reference, and docs/library.md's examples run there with
// plain Node and vitest (no tsx, no TypeScript sources); then the git URL of this repository's commit
// (npm clones it and builds dist/ in the `prepare` script) installed into another empty project. Each
// install runs `run`, `broker` and `certs`. The steps run in order; each prints how long it took.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { temporaryDir } from '../common/test-support.ts';

const repository = process.cwd();
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string; devDependencies: Record<string, string> };
const scratch = temporaryDir();
const project = join(scratch, 'project');
const gitProject = join(scratch, 'git-project');
let tarball = '';

interface Outcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The environment of a user's shell: nothing of this npm test run (npm_*) or of vitest (VITEST*). */
function userEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|VITEST|TINYPOOL)/i.test(name) && name !== 'NODE_ENV'));
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Runs a command in `cwd` and prints one progress line with its duration. */
async function run(command: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}, timeoutMs = 120_000): Promise<Outcome> {
  const started = performance.now();
  const outcome = await new Promise<Outcome>((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: userEnvironment(extraEnv), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, shell: process.platform === 'win32' },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        resolve({ exitCode: error ? (typeof code === 'number' ? code : 1) : 0, stdout, stderr });
      },
    );
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`[package] ${command} ${args.join(' ')}: exit ${outcome.exitCode} in ${seconds} s`);
  return outcome;
}

// As a user types it; npm_config_yes=false: never fetch the tool from the registry if the install failed.
const toolIn = (cwd: string, ...args: string[]) => run('npx', [manifest.name, ...args], cwd, { npm_config_yes: 'false' });
const tool = (...args: string[]) => toolIn(project, ...args);

/** An empty project with only a package.json, as `npm init` leaves it. */
function emptyProject(dir: string): void {
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'device-team-tests', private: true, type: 'module' }));
}

/**
 * `broker --port 0` from the installed tool: the URL it prints once listening, then its exit on SIGTERM.
 * The bin's link in node_modules/.bin is started directly, as npx does, so that the signal reaches it.
 */
async function brokerFrom(cwd: string): Promise<{ url: string; exitCode: number | null }> {
  const bin = join(cwd, 'node_modules', '.bin', manifest.name);
  const child = spawn(bin, ['broker', '--port', '0'], { cwd, env: userEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the broker printed no URL in 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (mqtts:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => reject(new Error(`the broker exited before listening:\n${output}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return { url, exitCode: await exited };
}

/** What every install path must give: `run` of one rule, `broker` that starts and stops, `certs`. */
function itRunsTheInstalledTool(cwd: string): void {
  it('runs S1 against the embedded reference with `run --rules S1`, exit 0', async () => {
    const conformance = await toolIn(cwd, 'run', '--rules', 'S1', '--mqtt', '5');
    expect(conformance.exitCode, conformance.stdout + conformance.stderr).toBe(0);
    expect(conformance.stdout).toMatch(/^rules: [1-9]\d* passed, 0 failed/m);
  }, 120_000);

  it('starts `broker`, which prints its URL, and stops it', async () => {
    const broker = await brokerFrom(cwd);
    expect(broker.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(broker.exitCode).toBe(0);
  }, 90_000);

  it('makes a PKI set in another folder with `certs --out`', async () => {
    const certs = await toolIn(cwd, 'certs', '--out', 'other-pki');
    expect(certs.exitCode, certs.stdout + certs.stderr).toBe(0);
    expect(existsSync(join(cwd, 'other-pki', 'identities.json'))).toBe(true);
  }, 90_000);

  it('names commands in its hints as the installed user types them, never the npm scripts of the repository', async () => {
    const help = await toolIn(cwd, 'certs', '--help');
    expect(help.stdout).toContain(`(npx ${manifest.name} provision does this)`);
    expect(help.stdout).not.toMatch(/npm run/);
  }, 30_000);
}

/** The ```js block of docs/library.md whose first line is `// NAME`, written into the project. */
function exampleFromDocs(name: string): string {
  const docs = readFileSync(join(repository, 'docs', 'library.md'), 'utf8');
  const block = [...docs.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]!).find((code) => code.startsWith(`// ${name}\n`));
  if (!block) throw new Error(`docs/library.md has no example starting with "// ${name}"`);
  writeFileSync(join(project, name), block);
  return name;
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the packed tarball, installed in an empty project', () => {
  it('packs the compiled tool, its features and the library docs, and no TypeScript source or test toolkit', async () => {
    const pack = await run('npm', ['pack', '--json', '--pack-destination', scratch], repository);
    expect(pack.exitCode, pack.stderr).toBe(0);
    const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed!.files.map((file) => file.path);
    expect(files).toEqual(expect.arrayContaining(['dist/runner/main.js', 'dist/index.js', 'dist/index.d.ts', 'dist/steps/world.js', 'features/session-names.feature', 'docs/library.md']));
    expect(files.filter((file) => (file.endsWith('.ts') && !file.endsWith('.d.ts')) || file.includes('.test.'))).toEqual([]);
    // No test toolkit: the raw session, the broker harness, the conformance-run helper, the scratch helpers.
    expect(files.filter((file) => /^dist\/testkit\/|test-support|raw-session|test-broker|conformance-run/.test(file))).toEqual([]);
    tarball = join(scratch, packed!.filename);
  }, 120_000);

  // What `npm publish` would upload, from the dist/ the pack above built (--ignore-scripts: not twice).
  // The only warning allowed is that nobody is logged in to the registry.
  it('is publish-ready: `npm publish --dry-run` exits 0 and warns of nothing but the missing login', async () => {
    const publish = await run('npm', ['publish', '--dry-run', '--ignore-scripts'], repository);
    expect(publish.exitCode, publish.stderr).toBe(0);
    const warnings = publish.stderr.split('\n').filter((line) => /npm warn/i.test(line) && !/requires you to be logged in/.test(line));
    expect(warnings).toEqual([]);
    expect(publish.stdout).toMatch(new RegExp(`\\+ ${manifest.name}@${manifest.version.replaceAll('.', '\\.')}`));
  }, 60_000);

  it('installs with its runtime dependencies (and the example test needs only mqtt and vitest besides)', async () => {
    emptyProject(project);
    const install = await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, 'mqtt@^5', `vitest@${manifest.devDependencies.vitest}`],
      project,
      {},
      240_000,
    );
    expect(install.exitCode, install.stderr).toBe(0);
    expect(existsSync(join(project, 'node_modules', '.bin', manifest.name))).toBe(true);
  }, 240_000);

  it('answers --help with every subcommand, and --version with the package version', async () => {
    const help = await tool('--help');
    expect(help.exitCode, help.stderr).toBe(0);
    for (const subcommand of ['run', 'broker', 'certs', 'probe', 'provision']) expect(help.stdout).toMatch(new RegExp(`^  ${subcommand} `, 'm'));
    const runHelp = await tool('run', '--help');
    expect(runHelp.stdout).toMatch(/^usage: mqtt-multisession-conformance run /);
    const version = await tool('--version');
    expect(version.stdout.trim()).toBe(manifest.version);
  }, 60_000);

  it('runs the documented plain Node example: the reference broker from the package, with pki/ in the project', async () => {
    const example = await run(process.execPath, [exampleFromDocs('broker.mjs')], project, { STOP_AT_ONCE: '1' });
    expect(example.exitCode, example.stderr).toBe(0);
    expect(example.stdout).toMatch(/^listening on mqtts:\/\/127\.0\.0\.1:\d+; CA: .*root\.pem$/m);
    expect(existsSync(join(project, 'pki', 'identities.json'))).toBe(true);
  }, 120_000);

  it('runs S6 over MQTT 5 against the embedded reference, exit 0, reports in the project', async () => {
    const conformance = await tool('run', '--rules', 'S6', '--mqtt', '5');
    expect(conformance.exitCode, conformance.stdout + conformance.stderr).toBe(0);
    expect(conformance.stdout).toMatch(/^rules: [1-9]\d* passed, 0 failed/m);
    const report = JSON.parse(readFileSync(join(project, 'reports', 'rules.json'), 'utf8')) as { rules: Array<{ id: string; version: string; status: string }> };
    expect(report.rules.find((rule) => rule.id === 'S6' && rule.version === '5')?.status).toBe('passed');
  }, 120_000);

  it("runs the documented vitest example: a device team's test against the reference broker", async () => {
    const example = await run('npx', ['vitest', 'run', exampleFromDocs('device.test.mjs')], project, { npm_config_yes: 'false' });
    expect(example.exitCode, example.stdout + example.stderr).toBe(0);
    expect(example.stdout).toMatch(/Tests +3 passed \(3\)/);
  }, 120_000);

  // skipLibCheck, as most projects have it: checking every declaration of cucumber, mqtt and aedes takes
  // five times as long. What the project's own code uses must still resolve and check.
  it('gives type declarations that a strict TypeScript project checks against', async () => {
    writeFileSync(
      join(project, 'check.mts'),
      `import { startReferenceBroker, loadPki, namespaceFromPki, serverTlsFromPki, type ReferenceBroker } from '${manifest.name}';
const pki = loadPki('pki');
const broker: Promise<ReferenceBroker> = startReferenceBroker({ namespace: namespaceFromPki(pki), tls: serverTlsFromPki(pki) });
export const port: Promise<number> = broker.then((started) => started.port);
`,
    );
    const typescript = join(repository, 'node_modules', 'typescript', 'bin', 'tsc');
    const types = join(repository, 'node_modules', '@types');
    const check = await run(process.execPath, [typescript, '--noEmit', '--skipLibCheck', '--strict', '--module', 'nodenext', '--types', 'node', '--typeRoots', types, 'check.mts'], project);
    expect(check.exitCode, check.stdout).toBe(0);
  }, 60_000);
  itRunsTheInstalledTool(project);
});

// The commit under test, not the branch: what is checked is the code in this checkout (its uncommitted
// edits aside). A copy with no git history (an exported tarball of the sources) has nothing to clone.
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repository, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
})();

describe.skipIf(!commit)('the git URL of this commit, installed in an empty project (prepare builds dist/)', () => {
  it('installs and has the compiled bin', async () => {
    emptyProject(gitProject);
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', `git+file://${repository}#${commit}`], gitProject, {}, 300_000);
    expect(install.exitCode, install.stderr).toBe(0);
    expect(existsSync(join(gitProject, 'node_modules', manifest.name, 'dist', 'runner', 'main.js'))).toBe(true);
  }, 300_000);

  itRunsTheInstalledTool(gitProject);
});
