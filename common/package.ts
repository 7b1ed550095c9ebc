// Where the package's own files are, whether it runs from this checkout under tsx or installed and
// compiled (this module is then dist/common/package.js): the features, the step modules, the version.
// Files the user names or that a run writes (pki/, reports/) stay relative to the user's cwd.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when running the compiled JavaScript in dist/, false when running the TypeScript sources. */
export const COMPILED = !import.meta.url.endsWith('.ts');

/** The package's folder: the checkout, or node_modules/mqtt-multisession-conformance when installed. */
export const PACKAGE_ROOT = fileURLToPath(new URL(COMPILED ? '../../' : '../', import.meta.url));

/** The folder of the modules that run: dist/ when compiled, the checkout under tsx. */
export const MODULE_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The extension of the modules that run: `.js` compiled, `.ts` under tsx. */
export const MODULE_EXTENSION = COMPILED ? '.js' : '.ts';

/** The Gherkin features, shipped with the package. */
export const FEATURES_DIR = join(PACKAGE_ROOT, 'features');

export const PACKAGE_NAME = 'mqtt-multisession-conformance';

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** True when installed as a dependency (under node_modules), false in this repository's checkout. */
export const INSTALLED = PACKAGE_ROOT.split(/[\\/]/).includes('node_modules');

/**
 * A subcommand as the user types it, for hints in messages: `npm run certs -- --renew` in this
 * repository (the npm scripts exist only here), `npx mqtt-multisession-conformance certs --renew`
 * where the package is installed.
 */
export function toolCommand(subcommand: 'run' | 'certs' | 'provision' | 'broker' | 'probe', args = '', installed = INSTALLED): string {
  if (installed) return `npx ${PACKAGE_NAME} ${subcommand}${args ? ` ${args}` : ''}`;
  return `npm run ${subcommand === 'run' ? 'conformance' : subcommand}${args ? ` -- ${args}` : ''}`;
}

/** A page of docs/ (shipped in the package) as a path the user can open: in the package when installed. */
export function docsLink(page: string, installed = INSTALLED): string {
  return installed ? relative(process.cwd(), join(PACKAGE_ROOT, 'docs', page)) : `docs/${page}`;
}
