// One conformance run: the Gherkin scenarios against a prepared target, through cucumber's API.
import type { Envelope } from '@cucumber/messages';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
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
}

export async function runScenarios(options: RunOptions): Promise<boolean> {
  const { runConfiguration } = await loadConfiguration({
    file: false,
    provided: {
      paths: ['features/**/*.feature'],
      import: ['steps/world.ts', 'steps/hooks.ts', 'steps/*.steps.ts'],
      tags: tagExpression(options.selection ?? {}) ?? '',
      format: options.formats ?? ['progress'],
      worldParameters: { ...options.target },
    },
  });
  const { success } = await runCucumber(runConfiguration, undefined, options.onMessage);
  return success;
}
