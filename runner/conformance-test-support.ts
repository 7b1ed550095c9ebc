// Runs `npm run conformance` as a user would, in a child process, and reads the rules.json it wrote.
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

export async function runConformance(reportDir: string, args: string[]): Promise<ConformanceRun> {
  const command = [process.execPath, ['--import', 'tsx', 'runner/cli.ts', '--report-dir', reportDir, ...args]] as const;
  const result = await promisify(execFile)(...command, { maxBuffer: 16 * 1024 * 1024 }).then(
    (out) => ({ exitCode: 0, ...out }),
    (error: { code: number; stdout: string; stderr: string }) => ({ exitCode: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
  try {
    const report = JSON.parse(readFileSync(join(reportDir, 'rules.json'), 'utf8')) as { rules: RuleVerdict[]; scenarios: ScenarioResult[] };
    return { ...result, rules: report.rules, scenarios: report.scenarios };
  } catch {
    return result;
  }
}
