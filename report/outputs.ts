// The run's outputs, all from one set of verdicts: a console matrix, rules.json, junit.xml and a
// Markdown summary for a pull request or a CI job page.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { methodsOf, MQTT_VERSIONS, RULES, type AuthenticationMethod } from '../rules/catalogue.ts';
import { TRANSPORTS } from '../rules/transports.ts';
import { htmlReport } from './html.ts';
import { spreadLines, type InstanceSpreadSummary } from './instance-spread.ts';
import type { ScenarioResult } from './scenarios.ts';
import { reportedPackets } from './packets.ts';
import { passedLeniently, totals, whereVerdict, type RuleVerdict, type VerdictStatus } from './verdicts.ts';

export interface RunReport {
  target: string;
  startedAt: string;
  durationMs: number;
  verdicts: RuleVerdict[];
  scenarios: ScenarioResult[];
  /** How connections were spread over a namespace's instances, when it has several. */
  spread?: InstanceSpreadSummary;
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
  if (report.spread) lines.push('', ...spreadLines(report.spread));
  const { notRun } = totals(report.verdicts);
  lines.push('', `${report.scenarios.length} scenarios in ${(report.durationMs / 1000).toFixed(1)} s against ${report.target}; ${notRun} rule/version pairs not run`);
  lines.push(closingLine(report.verdicts));
  return lines.join('\n');
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** ".custom-jwt", ".wss": what a classname adds for a method or transport other than the default. */
const whereSuffix = (method: string, transport: string) => `${method === 'certificate' ? '' : `.${method.toLowerCase()}`}${transport === 'tcp' ? '' : `.${transport}`}`;

/** An observation as a line of system-out: what the step expected, what the target did. */
const observationLine = (o: ScenarioResult['observations'][number]) => `${o.step}: expected ${o.expected}; observed ${o.observed}`;

/**
 * One testcase per scenario (classname: its rules, version, method and transport), with its time, a
 * failure with its message, and its observations apart in system-out; and a skipped testcase per rule
 * and version no scenario ran for (S10, L4: not testable from a client), with why.
 */
export function junitReport(report: RunReport): string {
  const scenarioCases = report.scenarios.map((s) => {
    const classname = `event-grid-rules.${s.rules.join('-') || 'uncatalogued'}.mqtt-${s.version ?? 'any'}${whereSuffix(s.method, s.transport)}`;
    // file and line apart, as JUnit readers that annotate a source line take them.
    const [file, line] = s.location.split(/:(?=\d+$)/);
    const open = `    <testcase classname="${xml(classname)}" name="${xml(s.name)}" file="${xml(file!)}"${line ? ` line="${line}"` : ''} time="${(s.durationMs / 1000).toFixed(3)}">`;
    const body: string[] = [];
    if (s.status === 'failed') body.push(`      <failure message="${xml(s.message ?? 'failed')}">${xml(s.message ?? '')}</failure>`);
    if (s.status === 'skipped') body.push(`      <skipped message="${xml(s.message ?? 'skipped')}"/>`);
    if (s.observations.length) body.push(`      <system-out>${xml(s.observations.map(observationLine).join('\n'))}</system-out>`);
    return body.length ? `${open}\n${body.join('\n')}\n    </testcase>` : `${open}</testcase>`;
  });
  const notRun = report.verdicts.filter((v) => v.status === 'not run');
  const notRunCases = notRun.map(
    (v) =>
      `    <testcase classname="event-grid-rules.${v.id}.mqtt-${v.version}${whereSuffix(v.method, v.transport)}" name="${xml(`${v.id} ${v.title}`)}" time="0.000">\n      <skipped message="${xml(v.message ?? 'not run')}"/>\n    </testcase>`,
  );
  const tests = scenarioCases.length + notRunCases.length;
  const failures = report.scenarios.filter((s) => s.status === 'failed').length;
  const skipped = report.scenarios.filter((s) => s.status === 'skipped').length + notRun.length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="mqtt-multisession-conformance" tests="${tests}" failures="${failures}" time="${(report.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${xml(report.target)}" tests="${tests}" failures="${failures}" skipped="${skipped}" timestamp="${report.startedAt}">`,
    ...scenarioCases,
    ...notRunCases,
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
    ...(report.spread ? [...spreadLines(report.spread), ''] : []),
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

/**
 * The run as JSON: the verdicts indented, each scenario on one line (a default run has hundreds, with
 * their packets: indented, they tripled the file), packets as the reports keep them (reportedPackets).
 */
export function rulesJson(report: RunReport): string {
  const head = JSON.stringify(
    {
      target: report.target,
      startedAt: report.startedAt,
      durationMs: Math.round(report.durationMs),
      totals: totals(report.verdicts),
      ...(report.spread ? { spread: report.spread } : {}),
      rules: report.verdicts,
    },
    null,
    2,
  );
  const scenarios = report.scenarios.map((s) => `    ${JSON.stringify(s.packets ? { ...s, packets: reportedPackets(s.packets, s.status) } : s)}`);
  return `${head.slice(0, -2)},\n  "scenarios": [${scenarios.length ? `\n${scenarios.join(',\n')}\n  ` : ''}]\n}\n`;
}

/** Writes rules.json, junit.xml, summary.md and report.html into the folder; returns their paths. */
export function writeReports(dir: string, report: RunReport): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Array<[string, string]> = [
    ['rules.json', rulesJson(report)],
    ['junit.xml', junitReport(report)],
    ['summary.md', markdownSummary(report)],
    ['report.html', htmlReport(report)],
  ];
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}
