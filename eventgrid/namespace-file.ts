// Reads a namespace description from a file: the project's own JSON form, or an ARM template of
// Event Grid resources (as `npm run provision` writes), so one description serves cloud and reference.
import { readFileSync } from 'node:fs';
import { armToNamespace, isArmTemplate } from './arm-template.ts';
import { NamespaceConfigError, parseNamespace, type NamespaceConfig } from './namespace.ts';

export function readNamespaceFile(path: string): NamespaceConfig {
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
  return isArmTemplate(json) ? armToNamespace(json, `ARM template ${path}`) : parseNamespace(json, `namespace file ${path}`);
}
