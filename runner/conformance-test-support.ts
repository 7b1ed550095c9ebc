// Runs the project's commands as a user would, in a child process; for `npm run conformance`, reads
// the rules.json it wrote.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ScenarioResult } from '../report/scenarios.ts';
import type { RuleVerdict } from '../report/verdicts.ts';

export interface ConformanceRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  rules?: RuleVerdict[];
  scenarios?: ScenarioResult[];
}

/** Runs one of the project's TypeScript entry points as `npm run` would. */
export function runScript(script: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', script, ...args], { maxBuffer: 16 * 1024 * 1024 }).then(
    (out) => ({ exitCode: 0, ...out }),
    (error: { code: number; stdout: string; stderr: string }) => ({ exitCode: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

export async function runConformance(reportDir: string, args: string[]): Promise<ConformanceRun> {
  const result = await runScript('runner/cli.ts', ['--report-dir', reportDir, ...args]);
  try {
    const report = JSON.parse(readFileSync(join(reportDir, 'rules.json'), 'utf8')) as { rules: RuleVerdict[]; scenarios: ScenarioResult[] };
    return { ...result, rules: report.rules, scenarios: report.scenarios };
  } catch {
    return result;
  }
}
