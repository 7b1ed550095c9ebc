// Worker threads that run one of the package's own modules, compiled or under tsx.
import { MODULE_EXTENSION } from './package.ts';

/**
 * The entry of a worker thread that runs the module `name` (e.g. './embedded-brokers') of the folder
 * of `from` (the caller's import.meta.url): that module, compiled; under tsx, a module that registers
 * tsx first (Node 20 carries no --import into worker threads) and then imports it.
 */
export function threadEntry(name: string, from: string): URL {
  const module = new URL(`${name}${MODULE_EXTENSION}`, from);
  if (MODULE_EXTENSION === '.js') return module;
  const source = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(module.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}
