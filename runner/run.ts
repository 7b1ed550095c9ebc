// One conformance run: the Gherkin scenarios against a prepared target, through cucumber's API.
import { readdirSync } from 'node:fs';
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
  /**
   * Worker processes that run scenarios at the same time (0: one after another, in this process).
   * steps/hooks.ts keeps apart the scenarios that must not overlap.
   */
  parallel?: number;
}

const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
/** cucumber takes glob patterns: forward slashes on every platform. */
const pattern = (...parts: string[]) => join(...parts).replaceAll('\\', '/');

/**
 * Features whose scenarios mostly wait come first, so that in a parallel run their waits overlap the
 * other scenarios instead of ending the run: L14's Keep Alive (4.5 s each, near the end of
 * limits.feature), then the expiries (2 s each on the embedded target).
 */
const WAITING_FEATURES = ['limits.feature', 'expiry-and-persistence.feature', 'session-names.feature'];

/** The package's features, those that wait first, then the others by name. */
function featurePaths(): string[] {
  const names = readdirSync(FEATURES_DIR).filter((name) => name.endsWith('.feature')).sort();
  const first = WAITING_FEATURES.filter((name) => names.includes(name));
  return [...first, ...names.filter((name) => !first.includes(name))].map((name) => pattern(FEATURES_DIR, name));
}

export async function runScenarios(options: RunOptions): Promise<boolean> {
  // The package's own features and step modules (dist/steps/*.js when installed, steps/*.ts under
  // tsx), wherever the user runs from; cucumber reports their paths relative to the cwd.
  const steps = join(MODULE_ROOT, 'steps');
  const { runConfiguration } = await loadConfiguration({
    file: false,
    provided: {
      paths: featurePaths(),
      import: [`world${MODULE_EXTENSION}`, `hooks${MODULE_EXTENSION}`, `*.steps${MODULE_EXTENSION}`].map((file) => pattern(steps, file)),
      tags: tagExpression(options.selection ?? {}) ?? '',
      format: options.formats ?? ['progress'],
      worldParameters: { ...options.target },
      parallel: options.parallel ?? 0,
    },
  });
  const { success } = await runCucumber(runConfiguration, options.quiet ? { stdout: discard } : undefined, options.onMessage);
  return success;
}
