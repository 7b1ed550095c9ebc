// Guards: the catalogue is the single source of rule ids. Every rule tag in features/ is catalogued,
// every testable rule has a scenario per version it applies to, and the reference broker names only
// catalogued rules.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_GRID } from '../reference/policy/event-grid.ts';
import { MUTANTS, mutantsOf } from '../reference/policy/mutants.ts';
import { loadPlannedScenarios } from './feature-pickles.ts';
import { describeRefusals, findRule, methodsOf, RULES, versionsUnder, type Rule, type RuleId } from '../rules/catalogue.ts';
import { isKnownTag, methodOfTags, rulesOfTags, VERSION_TAGS, versionOfTags } from '../rules/tags.ts';

const featureFiles = readdirSync('features').filter((name) => name.endsWith('.feature')).map((name) => join('features', name));
const planned = loadPlannedScenarios();
const scenarios = planned.map((scenario) => ({ rules: rulesOfTags(scenario.tags), version: versionOfTags(scenario.tags), method: methodOfTags(scenario.tags) }));

describe('the rule catalogue', () => {
  it('has unique ids, a title, a source and versions for every rule', () => {
    expect(new Set(RULES.map((rule) => rule.id)).size).toBe(RULES.length);
    for (const rule of RULES as readonly Rule[]) {
      expect(rule.title.length, rule.id).toBeGreaterThan(10);
      expect(rule.sources.length, rule.id).toBeGreaterThan(0);
      expect(rule.versions.length, rule.id).toBeGreaterThan(0);
      for (const dependency of rule.dependsOn ?? []) expect(findRule(dependency), `${rule.id} depends on ${dependency}`).toBeDefined();
    }
  });

  it('knows every rule tag used in features/', () => {
    const tags = featureFiles.flatMap((file) => readFileSync(file, 'utf8').match(/@[A-Z]\d+\b/g) ?? []);
    expect(tags.length).toBeGreaterThan(0);
    for (const tag of new Set(tags)) expect(findRule(tag.slice(1)), tag).toBeDefined();
  });

  it('is the vocabulary of every tag in features/', () => {
    const unknown = planned.flatMap((scenario) => scenario.tags.filter((tag) => !isKnownTag(tag)).map((tag) => `${scenario.uri} "${scenario.name}": ${tag}`));
    expect(unknown).toEqual([]);
  });

  it('gives every scenario one version tag, and the version its steps use', () => {
    for (const scenario of planned) {
      const where = `${scenario.uri} "${scenario.name}"`;
      expect(scenario.tags.filter((tag) => tag in VERSION_TAGS), where).toHaveLength(1);
      const version = versionOfTags(scenario.tags);
      // Steps name the version they connect with ("over MQTT 5"); a mistagged Examples table shows here.
      for (const [, named] of scenario.steps.join('\n').matchAll(/MQTT (3\.1\.1|5)\b/g)) expect(named, where).toBe(version);
    }
  });

  it('has a scenario for every testable rule in every version and authentication method it applies to, and none for another method', () => {
    for (const rule of (RULES as readonly Rule[]).filter((r) => !r.untestable)) {
      for (const method of methodsOf(rule)) {
        for (const version of versionsUnder(rule, method)) {
          const covering = scenarios.filter((s) => (s.rules as readonly string[]).includes(rule.id) && s.version === version && s.method === method);
          expect(covering.length, `${rule.id} over MQTT ${version} with ${method}`).toBeGreaterThan(0);
        }
      }
      // A method the rule says it cannot be observed under is not one its scenarios run under.
      const both = methodsOf(rule).filter((method) => rule.notUnder?.[method]);
      expect(both, `${rule.id}: methods both run and said not to apply`).toEqual([]);
      // A scenario under a method its rule does not list would give a verdict no report shows.
      const stray = scenarios.filter((s) => (s.rules as readonly string[]).includes(rule.id) && !methodsOf(rule).includes(s.method));
      expect(stray.map((s) => `${rule.id} with ${s.method}`), rule.id).toEqual([]);
    }
  });

  it("tries each of a rule's near misses on both versions, with the verdict the catalogue expects", () => {
    for (const rule of (RULES as readonly Rule[]).filter((r) => r.readings)) {
      for (const reading of rule.readings!) {
        const verdict = reading.expected === 'accepted' ? 'the connection is accepted' : 'the connection is refused';
        for (const version of rule.versions) {
          const trying = planned.filter(
            (scenario) => (rulesOfTags(scenario.tags) as readonly string[]).includes(rule.id) && versionOfTags(scenario.tags) === version && scenario.name.includes(reading.case),
          );
          expect(trying.length, `${rule.id} over MQTT ${version}: ${reading.case}`).toBeGreaterThan(0);
          for (const scenario of trying) expect(scenario.steps, scenario.name).toContain(verdict);
        }
      }
    }
  });

  it('is what the README lists, rule by rule, with the refusal each rule expects', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const rule of RULES as readonly Rule[]) {
      expect(readme, rule.id).toContain(`| ${rule.id} | ${rule.title} | ${rule.versions.join(', ')} | ${describeRefusals(rule)} |`);
    }
  });

  it('has a mutant of the reference for every testable rule (any number, each with its own id), or says why none can exist', () => {
    for (const rule of (RULES as readonly Rule[]).filter((r) => !r.untestable)) {
      const mutants = mutantsOf(rule.id as RuleId);
      expect(mutants.length ? 'a mutant' : rule.noMutant && 'a reason', rule.id).toBeTruthy();
      expect(mutants.length > 0 && rule.noMutant, `${rule.id} has mutants (${mutants.join(', ')}) and says none can exist`).toBeFalsy();
    }
    // No mutant for an untestable rule: no scenario could show it failing.
    for (const rule of (RULES as readonly Rule[]).filter((r) => r.untestable)) expect(mutantsOf(rule.id as RuleId), rule.id).toEqual([]);
  });

  it('is the source of every rule id the reference broker names', () => {
    const source = readdirSync('reference', { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
      .map((name) => readFileSync(join('reference', name), 'utf8'))
      .join('\n');
    const named = new Set([...source.matchAll(/['"`[ ]([A-Z]\d{1,2})['"`\]]/g)].map((match) => match[1]!));
    expect(named.size).toBeGreaterThan(10);
    for (const id of named) expect(findRule(id), id).toBeDefined();
    for (const [id, mutant] of MUTANTS) {
      expect(findRule(mutant.rule), id).toBeDefined();
      expect(id === mutant.rule || new RegExp(`^${mutant.rule}\\.[a-z][a-z0-9-]*$`).test(id), `mutant ${id} is named after its rule ${mutant.rule} ("${mutant.rule}" or "${mutant.rule}.how")`).toBe(true);
    }
    const { packetChecks, certificateChecks, tokenChecks, connectChecks, subscribeChecks, publishChecks } = EVENT_GRID;
    for (const check of [...packetChecks, ...certificateChecks, ...tokenChecks, ...connectChecks, ...subscribeChecks, ...publishChecks]) expect(findRule(check.rule), check.name).toBeDefined();
  });
});
