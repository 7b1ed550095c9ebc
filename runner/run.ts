// One conformance run: the Gherkin scenarios against a prepared target, through cucumber's API.
import { Writable } from 'node:stream';
import type { Envelope } from '@cucumber/messages';
import { join } from 'node:path';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
import { FEATURES_DIR, MODULE_EXTENSION, MODULE_ROOT } from '../common/package.ts';
import { ruleTag, versionTag } from '../rules/tags.ts';
import type { TargetParameters } from '../steps/target.ts';

export interface Selection {
  /** Rule ids to run; empty: all. */
  rules?: string[];
  mqtt?: '3.1.1' | '5' | 'both';
  /** A further cucumber tag expression. */
  tags?: string;
}

function tagExpression(selection: Selection): string | undefined {
  const parts: string[] = [];
  if (selection.mqtt && selection.mqtt !== 'both') parts.push(versionTag(selection.mqtt));
  if (selection.rules?.length) parts.push(`(${selection.rules.map(ruleTag).join(' or ')})`);
  if (selection.tags) parts.push(`(${selection.tags})`);
  return parts.length ? parts.join(' and ') : undefined;
}

export interface RunOptions {
  target: TargetParameters;
  selection?: Selection;
  /** cucumber formats, e.g. 'progress' or 'html:reports/cucumber.html'. */
  formats?: string[];
  onMessage?: (envelope: Envelope) => void;
  /** Discard what cucumber writes to stdout (its default progress dots): the caller shows progress. */
  quiet?: boolean;
}

const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
/** cucumber takes glob patterns: forward slashes on every platform. */
const pattern = (...parts: string[]) => join(...parts).replaceAll('\\', '/');

export async function runScenarios(options: RunOptions): Promise<boolean> {
  // The package's own features and step modules (dist/steps/*.js when installed, steps/*.ts under
  // tsx), wherever the user runs from; cucumber reports their paths relative to the cwd.
  const steps = join(MODULE_ROOT, 'steps');
  const { runConfiguration } = await loadConfiguration({
    file: false,
    provided: {
      paths: [pattern(FEATURES_DIR, '**/*.feature')],
      import: [`world${MODULE_EXTENSION}`, `hooks${MODULE_EXTENSION}`, `*.steps${MODULE_EXTENSION}`].map((file) => pattern(steps, file)),
      tags: tagExpression(options.selection ?? {}) ?? '',
      format: options.formats ?? ['progress'],
      worldParameters: { ...options.target },
    },
  });
  const { success } = await runCucumber(runConfiguration, options.quiet ? { stdout: discard } : undefined, options.onMessage);
  return success;
}
