// npm run starts the compiled tool only when dist/ was built from the sources as they are now.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildIsCurrent as isCurrent } from './launch.mjs';

describe('buildIsCurrent', () => {
  let root: string;
  const write = (path: string, secondsAgo: number) => {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '');
    const when = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(file, when, when);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'mmc-launch-'));
    write('runner/main.ts', 100);
    write('common/cli.ts', 100);
    write('dist/runner/main.js', 50);
    write('dist/runner/main.d.ts', 50);
    write('dist/common/cli.js', 50);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('is true when every compiled module is newer than its source', () => {
    expect(isCurrent(root)).toBe(true);
  });

  it('is false once a source is edited after the build', () => {
    write('common/cli.ts', 10);
    expect(isCurrent(root)).toBe(false);
  });

  it('is false with no dist/, or an empty one', () => {
    rmSync(join(root, 'dist'), { recursive: true });
    expect(isCurrent(root)).toBe(false);
    mkdirSync(join(root, 'dist'));
    expect(isCurrent(root)).toBe(false);
  });

  it('ignores a module whose source was deleted since the build', () => {
    write('dist/common/gone.js', 50);
    expect(isCurrent(root)).toBe(true);
  });
});

describe('node runner/launch.mjs', () => {
  // A copy of the launcher beside a stand-in tool, as source and compiled, each saying which it is.
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'mmc-launch-'));
    mkdirSync(join(root, 'runner'));
    copyFileSync('runner/launch.mjs', join(root, 'runner/launch.mjs'));
    symlinkSync(resolve('node_modules'), join(root, 'node_modules'));
    // Its build writes the compiled stand-in, as `npm run build` writes dist/.
    const build = "node -e \"const fs = require('node:fs'); fs.mkdirSync('dist/runner', { recursive: true }); fs.writeFileSync('dist/runner/main.js', 'console.log(\\'built\\', process.argv.slice(2).join(\\' \\'))')\"";
    writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module', scripts: { build } }));
    writeFileSync(join(root, 'runner/main.ts'), "const from: string = 'source'; console.log(from, process.argv.slice(2).join(' '));\n");
    mkdirSync(join(root, 'dist/runner'), { recursive: true });
    writeFileSync(join(root, 'dist/runner/main.js'), "console.log('compiled', process.argv.slice(2).join(' '));\n");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const launch = async () => (await promisify(execFile)(process.execPath, [join(root, 'runner/launch.mjs'), 'run', '--flag'])).stdout.trim();

  it('builds dist/ first in a checkout that has none, then starts it', async () => {
    rmSync(join(root, 'dist'), { recursive: true });
    expect(await launch()).toBe('built run --flag');
    expect(await launch()).toBe('built run --flag');
  });

  it('starts dist/ when it is current, and the sources through tsx when it is not', async () => {
    expect(await launch()).toBe('compiled run --flag');
    const later = new Date(Date.now() + 5000);
    utimesSync(join(root, 'runner/main.ts'), later, later);
    expect(await launch()).toBe('source run --flag');
  });
});
