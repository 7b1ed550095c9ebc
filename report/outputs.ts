// The run's outputs, all from one set of verdicts: a console matrix, rules.json, junit.xml and a
// Markdown summary for a pull request or a CI job page.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { methodsOf, MQTT_VERSIONS, RULES, type AuthenticationMethod } from '../rules/catalogue.ts';
import { TRANSPORTS } from '../rules/transports.ts';
import type { ScenarioResult } from './scenarios.ts';
import { passedLeniently, totals, whereVerdict, type RuleVerdict, type VerdictStatus } from './verdicts.ts';

export interface RunReport {
  target: string;
  startedAt: string;
  durationMs: number;
  verdicts: RuleVerdict[];
  scenarios: ScenarioResult[];
}

const LABEL: Record<VerdictStatus, string> = { passed: 'PASS', failed: 'FAIL', skipped: 'SKIP', 'not run': '-' };
const COLUMN = 12;
const TRANSPORT_COLUMN = 5;
const COLOUR: Record<VerdictStatus, number> = { passed: 32, failed: 31, skipped: 33, 'not run': 90 };

/** Marks a pass with skipped scenarios: PASS*, ✅*. */
const PARTIAL = '*';
const partial = (verdict: RuleVerdict | undefined) => (verdict?.skippedScenarios?.length ? PARTIAL : '');
/** Marks a pass on the lenient reading of an inferred refusal code: PASS~, ✅~ (both: PASS*~). */
const LENIENT = '~';
const lenientMark = (verdict: RuleVerdict | undefined) => (verdict && passedLeniently(verdict) ? LENIENT : '');
/** The marks of a cell, each escaped for Markdown when `escape`. */
const marks = (verdict: RuleVerdict | undefined, escape = false) => `${partial(verdict)}${lenientMark(verdict)}`.replace(/[*~]/g, (mark) => (escape ? `\\${mark}` : mark));

function cell(verdict: RuleVerdict | undefined, colour: boolean): string {
  const status = verdict?.status ?? 'not run';
  const text = `${LABEL[status]}${marks(verdict)}`.padEnd(COLUMN);
  return colour ? `\u001b[${COLOUR[status]}m${text}\u001b[0m` : text;
}

/** One row per rule, authentication method and transport of the run, a cell per version. */
function byRule(verdicts: RuleVerdict[]) {
  const transports = TRANSPORTS.filter((transport) => verdicts.some((v) => v.transport === transport));
  return RULES.flatMap((rule) =>
    methodsOf(rule).flatMap((method) =>
      transports.map((transport) => ({
        rule,
        method,
        transport,
        cells: MQTT_VERSIONS.map((version) => verdicts.find((v) => v.id === rule.id && v.version === version && v.method === method && v.transport === transport)),
      })),
    ),
  );
}

/** The method column: what authenticated the clients. */
const METHOD_LABEL: Record<AuthenticationMethod, string> = { certificate: 'X.509', 'CUSTOM-JWT': 'CUSTOM-JWT', webhook: 'webhook', 'OAUTH2-JWT': 'OAUTH2-JWT' };

export function closingLine(verdicts: RuleVerdict[]): string {
  const { passed, failed, skipped } = totals(verdicts);
  const partly = verdicts.filter((v) => v.skippedScenarios?.length).length;
  const lenient = verdicts.filter(passedLeniently).length;
  const notes = [...(partly ? [`${partly} with scenarios skipped`] : []), ...(lenient ? [`${lenient} on lenient codes`] : [])];
  return `rules: ${passed} passed${notes.length ? ` (${notes.join(', ')})` : ''}, ${failed} failed, ${skipped} skipped`;
}

function partlySkipped(report: RunReport): RuleVerdict[] {
  return report.verdicts.filter((v) => v.skippedScenarios?.length);
}

const skippedText = (v: RuleVerdict) => v.skippedScenarios!.map((s) => `${s.name} (${s.reason})`).join('; ');

export function consoleReport(report: RunReport, colour: boolean): string {
  const lines = [`rule   ${'auth'.padEnd(COLUMN)}${'via'.padEnd(TRANSPORT_COLUMN)}${MQTT_VERSIONS.map((v) => `MQTT ${v}`.padEnd(COLUMN)).join('')}title`];
  for (const { rule, method, transport, cells } of byRule(report.verdicts)) {
    lines.push(`${rule.id.padEnd(7)}${METHOD_LABEL[method].padEnd(COLUMN)}${transport.padEnd(TRANSPORT_COLUMN)}${cells.map((v) => cell(v, colour)).join('')}${rule.title}`);
  }
  const failed = report.verdicts.filter((v) => v.status === 'failed');
  if (failed.length) {
    lines.push('', 'failed:');
    for (const v of failed) lines.push(`  ${v.id} ${whereVerdict(v)}: ${v.message}`);
  }
  const lenient = report.verdicts.filter(passedLeniently);
  if (lenient.length) {
    lines.push('', `${LENIENT} passed only on the lenient reading (a refusal code differs from the inferred one; --strict-codes makes it binding):`);
    for (const v of lenient) lines.push(`  ${v.id} ${whereVerdict(v)}: ${v.lenientCodes.join('; ')}`);
  }
  const skipped = report.verdicts.filter((v) => v.status === 'skipped');
  if (skipped.length) {
    lines.push('', 'skipped:');
    for (const v of skipped) lines.push(`  ${v.id} ${whereVerdict(v)}: ${v.message}`);
  }
  const partly = partlySkipped(report);
  if (partly.length) {
    lines.push('', `${PARTIAL} passed with some scenarios skipped:`);
    for (const v of partly) lines.push(`  ${v.id} ${whereVerdict(v)}: skipped ${skippedText(v)}`);
  }
  const { notRun } = totals(report.verdicts);
  lines.push('', `${report.scenarios.length} scenarios in ${(report.durationMs / 1000).toFixed(1)} s against ${report.target}; ${notRun} rule/version pairs not run`);
  lines.push(closingLine(report.verdicts));
  return lines.join('\n');
}

/**
 * One line as a scenario finishes: the run's progress in a CI log (no TTY, so no redrawn bar), with
 * the rule, version and outcome, which cucumber's progress dots do not give.
 */
export function progressLine(result: ScenarioResult, number: number): string {
  const rules = result.rules.join(',') || '-';
  const version = result.version ? `MQTT ${result.version}` : '';
  const seconds = `${(result.durationMs / 1000).toFixed(1)} s`;
  const why = result.status === 'passed' ? '' : `: ${result.message}`;
  return `${String(number).padStart(3)} ${result.status.padEnd(7)} ${rules.padEnd(7)} ${version.padEnd(10)} ${seconds.padStart(7)}  ${result.name}${why}`;
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function junitReport(report: RunReport): string {
  const cases = report.verdicts.map((v) => {
    const name = xml(`${v.id} ${v.title}`);
    const classname = `event-grid-rules.mqtt-${v.version}${v.method === 'certificate' ? '' : `.${v.method.toLowerCase()}`}${v.transport === 'tcp' ? '' : `.${v.transport}`}`;
    const open = `    <testcase classname="${classname}" name="${name}" time="${(v.durationMs / 1000).toFixed(3)}">`;
    if (v.status === 'failed') return `${open}\n      <failure message="${xml(v.message ?? '')}">${xml(v.observed.join('\n'))}</failure>\n    </testcase>`;
    if (v.status === 'skipped' || v.status === 'not run') return `${open}\n      <skipped message="${xml(v.message ?? v.status)}"/>\n    </testcase>`;
    if (v.skippedScenarios?.length) {
      const skippedList = v.skippedScenarios.map((s) => `${s.name} (${s.reason})`).join('; ');
      return `${open}\n      <properties><property name="skipped-scenarios" value="${v.skippedScenarios.length}"/></properties>\n      <system-out>${xml(`passed with scenarios skipped: ${skippedList}`)}</system-out>\n    </testcase>`;
    }
    return `${open}</testcase>`;
  });
  const { passed, failed, skipped, notRun } = totals(report.verdicts);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="mqtt-multisession-conformance" tests="${passed + failed + skipped + notRun}" failures="${failed}" time="${(report.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${xml(report.target)}" tests="${passed + failed + skipped + notRun}" failures="${failed}" skipped="${skipped + notRun}" timestamp="${report.startedAt}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

const MARK: Record<VerdictStatus, string> = { passed: '✅ pass', failed: '❌ fail', skipped: '⏭️ skip', 'not run': '— not run' };

export function markdownSummary(report: RunReport): string {
  const lines = [
    '## MQTT multi-session conformance',
    '',
    `Target: ${report.target} · ${report.startedAt} · ${(report.durationMs / 1000).toFixed(1)} s · **${closingLine(report.verdicts)}**`,
    '',
    `| rule | auth | via | ${MQTT_VERSIONS.map((v) => `MQTT ${v}`).join(' | ')} | title |`,
    `|---|---|---|${MQTT_VERSIONS.map(() => '---').join('|')}|---|`,
    ...byRule(report.verdicts).map(
      ({ rule, method, transport, cells }) => `| ${rule.id} | ${METHOD_LABEL[method]} | ${transport} | ${cells.map((v) => `${MARK[v?.status ?? 'not run']}${marks(v, true)}`).join(' | ')} | ${rule.title} |`,
    ),
  ];
  const partly = partlySkipped(report);
  if (partly.length) {
    lines.push('', '\\* passed with some scenarios skipped:', '');
    for (const v of partly) lines.push(`- **${v.id}** ${whereVerdict(v)}: skipped ${skippedText(v)}`);
  }
  const lenient = report.verdicts.filter(passedLeniently);
  if (lenient.length) {
    lines.push('', '\\~ passed only on the lenient reading: a refusal code differs from the one the project infers (`--strict-codes` makes it binding).', '');
    for (const v of lenient) lines.push(`- **${v.id}** ${whereVerdict(v)}: ${v.lenientCodes.join('; ')}`);
  }
  const notable = report.verdicts.filter((v) => v.status === 'failed' || v.status === 'skipped');
  if (notable.length) {
    lines.push('', '### Failed and skipped', '');
    for (const v of notable) lines.push(`- **${v.id}** ${whereVerdict(v)} (${v.status}): ${v.message}`);
  }
  return `${lines.join('\n')}\n`;
}

export function rulesJson(report: RunReport): string {
  return `${JSON.stringify(
    {
      target: report.target,
      startedAt: report.startedAt,
      durationMs: Math.round(report.durationMs),
      totals: totals(report.verdicts),
      rules: report.verdicts,
      scenarios: report.scenarios,
    },
    null,
    2,
  )}\n`;
}

/** Writes rules.json, junit.xml and summary.md into the folder; returns their paths. */
export function writeReports(dir: string, report: RunReport): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Array<[string, string]> = [
    ['rules.json', rulesJson(report)],
    ['junit.xml', junitReport(report)],
    ['summary.md', markdownSummary(report)],
  ];
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}
