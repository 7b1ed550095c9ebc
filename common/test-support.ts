// Helpers for tests of every layer: a scratch folder, and the project's commands run as a user would.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Scratch folders made and not yet removed: test and bench runs leave none behind. */
const scratch: string[] = [];

/** Removes the scratch folders made so far (vitest.setup.ts, after each test file; a bench process, at exit). */
export function removeTemporaryDirs(): void {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
}
process.once('exit', removeTemporaryDirs);

export function temporaryDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mmc-'));
  scratch.push(dir);
  return dir;
}

/**
 * Set by vitest.global-setup.ts when dist/ is built from the sources as they are: child processes then
 * start compiled, as `npm run` does, instead of compiling every module again through tsx (a second of
 * CPU for each of the test run's hundred-odd conformance runs).
 */
export const COMPILED_ENV = 'MMC_TEST_COMPILED';

/** The node arguments that start one of the project's TypeScript entry points, e.g. 'runner/cli.ts'. */
export function scriptArgs(script: string): string[] {
  // Not every entry point ships in dist/ (stress/, bench/ run from the sources only).
  const compiled = join('dist', script.replace(/\.ts$/, '.js'));
  return process.env[COMPILED_ENV] === '1' && existsSync(compiled) ? [compiled] : ['--import', 'tsx', script];
}

/** Runs one of the project's TypeScript entry points in a child process, as `npm run` would; env replaces process.env. */
export function runScript(script: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [...scriptArgs(script), ...args], { maxBuffer: 16 * 1024 * 1024, ...(env ? { env } : {}) }).then(
    (out) => ({ exitCode: 0, ...out }),
    (error: { code: number; stdout: string; stderr: string }) => ({ exitCode: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

/** A loopback port nothing listens on (it was free a moment ago): a server that is down. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
