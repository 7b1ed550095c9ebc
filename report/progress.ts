// A run's progress while it goes (a remote run is paced and can take minutes). On a terminal: one line
// redrawn in place (scenarios done of planned, passing, failing, time left at the pace so far), with a
// rule's line printed above it when the rule fails. Elsewhere (a CI log): a plain line per rule and
// version as soon as its last scenario finishes, with its verdict.
import { rulesOfTags, versionOfTags, methodOfTags } from '../rules/tags.ts';
import type { ScenarioResult, ScenarioStatus } from './scenarios.ts';
import { whereVerdict } from './verdicts.ts';
import type { Transport } from '../rules/transports.ts';

export interface ProgressOutput {
  write(text: string): unknown;
}

const CLEAR_LINE = '\r\u001b[2K';

/** "S6 over MQTT 5 via wss": the rule and where its verdict holds. */
function keysOf(rules: string[], tags: string[], transport: Transport): string[] {
  const version = versionOfTags(tags);
  if (!version) return [];
  return rules.map((rule) => `${rule} ${whereVerdict({ version, method: methodOfTags(tags), transport })}`);
}

function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}

export class RunProgress {
  private readonly startedAt: number;
  private readonly counts: Record<ScenarioStatus, number> = { passed: 0, failed: 0, skipped: 0 };
  /** Per rule and version: the statuses of its scenarios finished so far, and the first failure. */
  private readonly byKey = new Map<string, { statuses: ScenarioStatus[]; failure?: string }>();

  /**
   * @param plan the tags of every scenario the run will start (known once cucumber has planned them)
   * @param terminal redraw one line in place; else a plain line per rule
   */
  constructor(
    private readonly output: ProgressOutput,
    private readonly terminal: boolean,
    private readonly plan: () => string[][],
    private readonly transport: Transport,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
  }

  private get done(): number {
    return this.counts.passed + this.counts.failed + this.counts.skipped;
  }

  readonly onResult = (result: ScenarioResult): void => {
    this.counts[result.status] += 1;
    const planned = this.plan();
    const finishedRules: string[] = [];
    for (const key of keysOf(result.rules, result.tags, this.transport)) {
      const entry = this.byKey.get(key) ?? { statuses: [] };
      entry.statuses.push(result.status);
      if (result.status === 'failed' && !entry.failure) entry.failure = `${result.name}: ${result.message}`;
      this.byKey.set(key, entry);
      const expected = planned.filter((tags) => keysOf(rulesOfTags(tags), tags, this.transport).includes(key)).length;
      if (entry.statuses.length === expected) finishedRules.push(this.ruleLine(key, entry, planned.length));
    }
    if (!this.terminal) {
      for (const line of finishedRules) this.output.write(`${line}\n`);
      return;
    }
    const failedLines = finishedRules.filter((line) => line.includes(' FAIL '));
    this.output.write(`${CLEAR_LINE}${failedLines.map((line) => `${line}\n`).join('')}${this.statusLine(planned.length)}`);
  };

  private ruleLine(key: string, entry: { statuses: ScenarioStatus[]; failure?: string }, total: number): string {
    const verdict = entry.failure ? 'FAIL' : entry.statuses.includes('passed') ? 'PASS' : 'SKIP';
    const count = `${entry.statuses.length} scenario${entry.statuses.length === 1 ? '' : 's'}`;
    return `[${String(this.done).padStart(String(total).length)}/${total} ${duration(this.now() - this.startedAt)}] ${verdict} ${key} (${count})${entry.failure ? `: ${entry.failure}` : ''}`;
  }

  /** "37/246 scenarios · 35 passed · 2 failed · 12 s elapsed, about 1 min 10 s left". */
  statusLine(total: number): string {
    const elapsed = this.now() - this.startedAt;
    const left = this.done ? `, about ${duration((elapsed / this.done) * (total - this.done))} left` : '';
    const skipped = this.counts.skipped ? ` · ${this.counts.skipped} skipped` : '';
    return `${this.transport}: ${this.done}/${total} scenarios · ${this.counts.passed} passed · ${this.counts.failed} failed${skipped} · ${duration(elapsed)} elapsed${left}`;
  }

  /** On a terminal, clears the progress line so that what follows starts clean. */
  end(): void {
    if (this.terminal) this.output.write(CLEAR_LINE);
  }
}
