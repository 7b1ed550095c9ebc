// One conformance run: the Gherkin scenarios against a prepared target, through cucumber's API.
import { readdirSync } from 'node:fs';
import type { Envelope } from '@cucumber/messages';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
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
  if (selection.mqtt === '3.1.1') parts.push('@mqtt3');
  if (selection.mqtt === '5') parts.push('@mqtt5');
  if (selection.rules?.length) parts.push(`(${selection.rules.map((rule) => `@${rule}`).join(' or ')})`);
  if (selection.tags) parts.push(`(${selection.tags})`);
  return parts.length ? parts.join(' and ') : undefined;
}

export interface RunOptions {
  target: TargetParameters;
  selection?: Selection;
  /** cucumber formats, e.g. 'progress' or 'html:reports/cucumber.html'. */
  formats?: string[];
  onMessage?: (envelope: Envelope) => void;
  /**
   * Worker processes that run scenarios at the same time (0: one after another, in this process).
   * steps/hooks.ts keeps apart the scenarios that count one identity's sessions.
   */
  parallel?: number;
}

export async function runScenarios(options: RunOptions): Promise<boolean> {
  const { runConfiguration } = await loadConfiguration({
    file: false,
    provided: {
      // The features with scenarios that wait for an expiry come first, so that in a parallel run
      // their waits overlap the other scenarios instead of ending the run.
      paths: [...new Set(['features/expiry-and-persistence.feature', 'features/session-names.feature', ...readdirSync('features').filter((name) => name.endsWith('.feature')).sort().map((name) => `features/${name}`)])],
      import: ['steps/world.ts', 'steps/hooks.ts', 'steps/*.steps.ts'],
      tags: tagExpression(options.selection ?? {}) ?? '',
      format: options.formats ?? ['progress'],
      worldParameters: { ...options.target },
      parallel: options.parallel ?? 0,
    },
  });
  const { success } = await runCucumber(runConfiguration, undefined, options.onMessage);
  return success;
}
