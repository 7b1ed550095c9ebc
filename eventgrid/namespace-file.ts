// Reads a namespace description from a file: the project's own JSON form, or an ARM template of
// Event Grid resources (as `npm run provision` writes), so one description serves cloud and reference.
import { readFileSync } from 'node:fs';
import { armToNamespace, isArmTemplate } from './arm-template.ts';
import { NamespaceConfigError, parseNamespace, type NamespaceConfig } from './namespace.ts';

export interface ReadNamespaceOptions {
  /** CA certificates for a file that declares none (no `caCertificates`, or an ARM template without any); an empty list given is kept. */
  defaultCaCertificates?: NamespaceConfig['caCertificates'];
}

export function readNamespaceFile(path: string, options: ReadNamespaceOptions = {}): NamespaceConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new NamespaceConfigError(`cannot read namespace file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new NamespaceConfigError(`namespace file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const { defaultCaCertificates } = options;
  if (isArmTemplate(json)) {
    const namespace = armToNamespace(json, `ARM template ${path}`);
    return defaultCaCertificates && namespace.caCertificates.length === 0 ? { ...namespace, caCertificates: defaultCaCertificates } : namespace;
  }
  const declaresCas = typeof json === 'object' && json !== null && 'caCertificates' in json;
  const withCas = defaultCaCertificates && !declaresCas ? { ...(json as object), caCertificates: defaultCaCertificates } : json;
  return parseNamespace(withCas, `namespace file ${path}`);
}
