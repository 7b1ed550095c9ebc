// The scenarios of features/ as cucumber will run them (one pickle per Examples row), with the tags
// each inherits from its Feature, Rule, Scenario and Examples; read with cucumber's own Gherkin parser.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AstBuilder, compile, GherkinClassicTokenMatcher, Parser } from '@cucumber/gherkin';
import { IdGenerator } from '@cucumber/messages';
import { FEATURES_DIR } from '../common/package.ts';

export interface PlannedScenario {
  name: string;
  uri: string;
  tags: string[];
  /** The step texts, with Examples values filled in. */
  steps: string[];
}

export function loadPlannedScenarios(dir = FEATURES_DIR): PlannedScenario[] {
  const newId = IdGenerator.incrementing();
  const parser = new Parser(new AstBuilder(newId), new GherkinClassicTokenMatcher());
  return readdirSync(dir)
    .filter((name) => name.endsWith('.feature'))
    .flatMap((name) => {
      const uri = join(dir, name);
      const document = parser.parse(readFileSync(uri, 'utf8'));
      return compile({ ...document, uri }, uri, newId).map((pickle) => ({
        name: pickle.name,
        uri,
        tags: pickle.tags.map((tag) => tag.name),
        steps: pickle.steps.map((step) => step.text),
      }));
    });
}
