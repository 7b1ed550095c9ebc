// reports/report.html: one self-contained page a person reads (no network: inline CSS and script, the
// run's data inline as JSON). The rule matrix (rule × version, and a column per transport and
// authentication method when the run has more than one), filterable by rule, verdict, version and free
// text; under it every scenario with what it expected beside what it observed, the rule's sources, and
// the packets its clients exchanged with the target. Failing scenarios are open.
import type { ScenarioResult } from './scenarios.ts';
import { reportedPackets } from './packets.ts';
import type { RuleVerdict } from './verdicts.ts';

/** What the page shows: outputs.ts's RunReport (not imported: outputs.ts writes this page). */
interface PageReport {
  target: string;
  startedAt: string;
  durationMs: number;
  verdicts: RuleVerdict[];
  scenarios: ScenarioResult[];
}

/** JSON safe inside a <script> element: no "</script>", no "<!--". */
const inlineJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const STYLE = `
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
.passed{background:#dff5df}.failed{background:#fbdada}.skipped{background:#fff3cd}.not-run{color:#888}
#filters{display:flex;gap:.8em;flex-wrap:wrap;margin:.8em 0}
details{border:1px solid #ddd;margin:.3em 0;padding:.3em .6em}summary{cursor:pointer}
.packets td{font:12px monospace}.sent{color:#064}.received{color:#036}.closed{color:#888}
.refusal{font-weight:bold;color:#b00}`;

/** The page's script: renders the matrix and the scenarios from the inline data, and applies the filters. */
const SCRIPT = `
const data = JSON.parse(document.getElementById('data').textContent);
const $ = (id) => document.getElementById(id);
const el = (tag, { dataset, ...attrs } = {}, ...children) => { const e = document.createElement(tag); Object.assign(e, attrs); Object.assign(e.dataset, dataset); e.append(...children.filter((c) => c !== undefined)); return e; };
const statusClass = (s) => s.replace(' ', '-');
// Dimensions beyond the version that take more than one value in this run become columns.
const extra = ['transport', 'method'].filter((key) => new Set(data.verdicts.map((v) => v[key]).filter(Boolean)).size > 1);
const columns = [...new Map(data.verdicts.map((v) => [[v.version, ...extra.map((k) => v[k])].join(' · '), v])).keys()].sort();
const where = (v) => [v.version, ...extra.map((k) => v[k])].join(' · ');
for (const [id, values] of [['rule', [...new Set(data.verdicts.map((v) => v.id))]], ['verdict', ['passed', 'failed', 'skipped', 'not run']], ['version', [...new Set(data.verdicts.map((v) => v.version))]]]) {
  for (const value of values) $(id).append(el('option', { value, textContent: value }));
}
function matches(item) {
  const rule = $('rule').value, verdict = $('verdict').value, version = $('version').value, text = $('text').value.toLowerCase();
  const rules = item.rules ?? [item.id];
  return (!rule || rules.includes(rule)) && (!verdict || item.status === verdict) && (!version || item.version === version) && (!text || JSON.stringify(item).toLowerCase().includes(text));
}
function renderMatrix() {
  const head = el('tr', {}, el('th', { textContent: 'rule' }), ...columns.map((c) => el('th', { textContent: 'MQTT ' + c })), el('th', { textContent: 'title' }));
  const rows = [...new Set(data.verdicts.map((v) => v.id))].map((id) => {
    const its = data.verdicts.filter((v) => v.id === id);
    if (!its.some(matches)) return undefined;
    return el('tr', { className: 'rule-row', dataset: { rule: id } }, el('td', { textContent: id }),
      ...columns.map((c) => { const v = its.find((x) => where(x) === c); return v ? el('td', { className: statusClass(v.status), textContent: v.status, title: v.message ?? '' }) : el('td', { textContent: '' }); }),
      el('td', { textContent: its[0].title }));
  });
  $('matrix').replaceChildren(head, ...rows.filter(Boolean));
}
function packetRow(p) {
  const code = p.fields.reasonCode ?? p.fields.returnCode;
  return el('tr', { className: p.direction }, el('td', { textContent: (p.atMs / 1000).toFixed(3) + ' s' }), el('td', { textContent: p.connection }),
    el('td', { textContent: p.direction === 'sent' ? '→' : p.direction === 'received' ? '←' : '×' }), el('td', { textContent: p.type.toUpperCase() }),
    el('td', { className: code >= 0x80 || (p.type === 'connack' && code > 0) ? 'refusal' : '', textContent: code === undefined ? '' : '0x' + code.toString(16).padStart(2, '0') }),
    el('td', { textContent: JSON.stringify(p.fields) }));
}
function renderScenarios() {
  const shown = data.scenarios.filter(matches);
  $('count').textContent = shown.length + ' of ' + data.scenarios.length + ' scenarios';
  $('scenarios').replaceChildren(...shown.map((s) => {
    const verdict = data.verdicts.find((v) => s.rules.includes(v.id));
    const observations = el('table', {}, el('tr', {}, el('th', { textContent: 'step' }), el('th', { textContent: 'expected' }), el('th', { textContent: 'observed' })),
      ...s.observations.map((o) => el('tr', {}, el('td', { textContent: o.step }), el('td', { textContent: o.expected }), el('td', { textContent: o.observed }))));
    const sources = el('p', {}, 'sources: ', ...(verdict?.sources ?? []).map((url) => el('a', { href: url, textContent: url + ' ' })));
    const packets = s.packets ? el('table', { className: 'packets' }, el('tr', {}, ...['time', 'connection', '', 'packet', 'code', 'fields'].map((h) => el('th', { textContent: h }))), ...s.packets.records.map(packetRow)) : el('p', { textContent: 'no packets recorded' });
    const omitted = s.packets?.omitted ? el('p', { textContent: s.packets.omitted + ' more packets not recorded' }) : undefined;
    const trimmed = s.packets?.trimmed ? el('p', { textContent: s.packets.trimmed + ' more packets recorded, not kept: the scenario did not fail (a failing one keeps all it recorded)' }) : undefined;
    return el('details', { className: 'scenario ' + statusClass(s.status), open: s.status === 'failed' },
      el('summary', { textContent: s.status.toUpperCase() + ' ' + s.rules.join(',') + ' MQTT ' + s.version + (extra.length ? ' ' + extra.map((k) => s[k]).join(' ') : '') + ': ' + s.name }),
      el('p', { textContent: s.location + ', ' + s.durationMs + ' ms' + (s.message ? ': ' + s.message : '') }), sources, observations, packets, trimmed, omitted);
  }));
}
function render() { renderMatrix(); renderScenarios(); }
for (const id of ['rule', 'verdict', 'version', 'text']) $(id).addEventListener('input', render);
render();`;

export function htmlReport(report: PageReport): string {
  const data = {
    target: report.target,
    startedAt: report.startedAt,
    verdicts: report.verdicts.map(({ id, title, version, method, transport, status, message, sources, expectedRefusals }) => ({ id, title, version, method, transport, status, message, sources, expectedRefusals })),
    scenarios: report.scenarios.map(({ name, location, rules, version, method, transport, status, message, durationMs, observations, packets }) => ({
      ...{ name, location, rules, version, method, transport, status, message, durationMs, observations },
      ...(packets ? { packets: reportedPackets(packets, status) } : {}),
    })),
  };
  const escape = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MQTT multi-session conformance</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>${STYLE}</style></head><body>
<h1>MQTT multi-session conformance</h1>
<p>${escape(report.target)} · ${escape(report.startedAt)} · ${(report.durationMs / 1000).toFixed(1)} s</p>
<div id="filters">
<label>rule <select id="rule"><option value="">all</option></select></label>
<label>verdict <select id="verdict"><option value="">all</option></select></label>
<label>MQTT <select id="version"><option value="">all</option></select></label>
<label>text <input id="text" type="search" placeholder="ClientID, code, step…"></label>
</div>
<table id="matrix"></table>
<h2>Scenarios <small id="count"></small></h2>
<div id="scenarios"></div>
<script type="application/json" id="data">${inlineJson(data)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
