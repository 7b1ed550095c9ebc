// Runs `npm run conformance` as a user would, in a child process, and reads the rules.json it wrote.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScript } from '../common/test-support.ts';
import type { ScenarioResult } from '../report/scenarios.ts';
import type { RuleVerdict } from '../report/verdicts.ts';

export interface ConformanceRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  rules?: RuleVerdict[];
  scenarios?: ScenarioResult[];
}

export async function runConformance(reportDir: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ConformanceRun> {
  const result = await runScript('runner/cli.ts', ['--report-dir', reportDir, ...args], env);
  try {
    const report = JSON.parse(readFileSync(join(reportDir, 'rules.json'), 'utf8')) as { rules: RuleVerdict[]; scenarios: ScenarioResult[] };
    return { ...result, rules: report.rules, scenarios: report.scenarios };
  } catch {
    return result;
  }
}
