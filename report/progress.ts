// A run's progress while it goes (a remote run is paced and can take minutes). On a terminal: one line
// redrawn in place (scenarios done of planned, passing, failing, time left at the pace so far), with a
// rule's line printed above it when the rule fails. Elsewhere (a CI log): a plain line per rule and
// version as soon as its last scenario finishes, with its verdict. One progress serves every run of the
// scenarios (a transport, or half of one's: runner/scenario-runs.ts): they go at once, each planning its
// own, and a rule's last scenario is known only once all have planned (the halves of one transport
// share its rules), so results that come before are held until then.
import { rulesOfTags, versionOfTags, methodOfTags } from '../rules/tags.ts';
import type { PlannedScenario, ScenarioResult, ScenarioStatus } from './scenarios.ts';
import { whereVerdict } from './verdicts.ts';

export interface ProgressOutput {
  write(text: string): unknown;
}

const CLEAR_LINE = '\r\u001b[2K';

/** "S6 over MQTT 5 via wss": the rule and where its verdict holds. */
function keysOf({ tags, transport }: PlannedScenario): string[] {
  const version = versionOfTags(tags);
  if (!version) return [];
  return rulesOfTags(tags).map((rule) => `${rule} ${whereVerdict({ version, method: methodOfTags(tags), transport })}`);
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
  /** How many scenarios of the plan each rule and version has, counted once every run has planned. */
  private readonly planned = { scenarios: 0, perKey: new Map<string, number>() };
  /** Results that came before every run had planned. */
  private readonly held: ScenarioResult[] = [];
  private ended = false;

  /**
   * @param plans how many runs will plan their scenarios (onPlanned)
   * @param terminal redraw one line in place; else a plain line per rule
   */
  constructor(
    private readonly output: ProgressOutput,
    private readonly terminal: boolean,
    private plansAwaited: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
  }

  /** A run's scenarios, as cucumber planned them. */
  readonly onPlanned = (plan: PlannedScenario[]): void => {
    this.planned.scenarios += plan.length;
    for (const scenario of plan) for (const key of keysOf(scenario)) this.planned.perKey.set(key, (this.planned.perKey.get(key) ?? 0) + 1);
    this.plansAwaited -= 1;
    if (this.plansAwaited === 0) this.held.splice(0).forEach(this.onResult);
  };

  private get done(): number {
    return this.counts.passed + this.counts.failed + this.counts.skipped;
  }

  readonly onResult = (result: ScenarioResult): void => {
    if (this.ended) return;
    if (this.plansAwaited > 0) {
      this.held.push(result);
      return;
    }
    this.counts[result.status] += 1;
    const { planned } = this;
    const finishedRules: string[] = [];
    for (const key of keysOf(result)) {
      const entry = this.byKey.get(key) ?? { statuses: [] };
      entry.statuses.push(result.status);
      if (result.status === 'failed' && !entry.failure) entry.failure = `${result.name}: ${result.message}`;
      this.byKey.set(key, entry);
      if (entry.statuses.length === planned.perKey.get(key)) finishedRules.push(this.ruleLine(key, entry, planned.scenarios));
    }
    if (!this.terminal) {
      for (const line of finishedRules) this.output.write(`${line}\n`);
      return;
    }
    const failedLines = finishedRules.filter((line) => line.includes(' FAIL '));
    this.output.write(`${CLEAR_LINE}${failedLines.map((line) => `${line}\n`).join('')}${this.statusLine(planned.scenarios)}`);
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
    return `${this.done}/${total} scenarios · ${this.counts.passed} passed · ${this.counts.failed} failed${skipped} · ${duration(elapsed)} elapsed${left}`;
  }

  /** On a terminal, clears the progress line so that what follows starts clean; shows nothing after. */
  end(): void {
    this.ended = true;
    if (this.terminal) this.output.write(CLEAR_LINE);
  }
}
