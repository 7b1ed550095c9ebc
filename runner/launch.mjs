// How `npm run conformance|broker|certs|probe|provision` starts the tool in this repository: the
// compiled JavaScript in dist/ when it was built from the sources as they are now, else the
// TypeScript sources through tsx, whose loader thread resolves every import (about a second more
// start-up). A checkout with no dist/ at all builds it first, once. Plain JavaScript, as it runs
// before tsx is there.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * True when every module in `root`/dist is newer than its TypeScript source. A source edited, added
 * or restored since the build makes some module older: a new module is only reached through an
 * import added to a module that was itself edited.
 */
export function buildIsCurrent(root) {
  const dist = join(root, 'dist');
  let modules;
  try {
    modules = readdirSync(dist, { recursive: true }).filter((file) => file.endsWith('.js'));
  } catch {
    return false;
  }
  if (modules.length === 0) return false;
  return modules.every((module) => {
    const compiled = join(dist, module);
    const source = join(root, relative(dist, compiled)).replace(/\.js$/, '.ts');
    try {
      return statSync(source).mtimeMs <= statSync(compiled).mtimeMs;
    } catch {
      // A source deleted since the build: nothing imports its module any more.
      return true;
    }
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const main = join(root, 'dist/runner/main.js');
  if (!existsSync(main)) {
    console.error('building dist/ once (npm run build); later runs start from it');
    spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  }
  if (existsSync(main) && buildIsCurrent(root)) {
    await import(pathToFileURL(main).href);
  } else {
    console.error('dist/ is not built from the sources as they are now: running them through tsx (npm run build starts about a second sooner)');
    const { register } = await import('tsx/esm/api');
    register();
    await import('./main.ts');
  }
}
