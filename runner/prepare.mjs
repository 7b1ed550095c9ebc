// npm's `prepare` script. npm runs it in a git dependency's clone before packing it (so that
// `npm install git+https://…#tag` gets the compiled dist/ the bin needs), and also on `npm install`
// / `npm ci` and `npm pack` in this repository: it builds only when dist/ is not built from the
// sources as they are now, so that a checkout pays the build once (runner/launch.mjs would build
// it on the first `npm run conformance` anyway) and `npm pack`, whose prepack has just built, not
// twice. Plain JavaScript: it runs before anything else is built.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildIsCurrent } from './launch.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!buildIsCurrent(root)) {
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  process.exitCode = build.status ?? 1;
}
