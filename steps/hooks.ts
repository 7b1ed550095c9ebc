// Scenario set-up and tear-down: skip what the target cannot test (saying why), end every client and
// session afterwards.
import { After, Before, setParallelCanAssign } from '@cucumber/cucumber';
import { missingCapability } from './target.ts';
import type { ConformanceWorld } from './world.ts';

Before(function (this: ConformanceWorld, { pickle }) {
  for (const { name } of pickle.tags) {
    const missing = missingCapability(name, this.target);
    if (missing) {
      this.log(`skipped: ${missing}`);
      return 'skipped';
    }
  }
  if (pickle.tags.some((tag) => tag.name === '@on-alternative-names-namespace')) this.url = this.target.alternativeNamesUrl!;
  return undefined;
});

After(async function (this: ConformanceWorld) {
  await this.cleanUp();
});

/** Scenarios that count an identity's sessions (or share the bare ClientID of S3): another scenario using that identity would change the count. */
const COUNTING_TAGS = new Set(['@needs-two-sessions', '@needs-known-session-limit', '@S3']);

function identitiesOf(pickle: { steps: readonly { text: string }[] }): Set<string> {
  return new Set(pickle.steps.flatMap((step) => [...step.text.matchAll(/identity "([^"]+)"/g)].map((match) => match[1]!)));
}

/**
 * In a parallel run, a scenario that counts an identity's sessions never overlaps another scenario
 * that uses that identity. Others may overlap: every scenario's session names carry its own prefix,
 * and with two workers no identity holds more than the limit of 2 (one session each).
 */
setParallelCanAssign((candidate, running) => {
  const counts = (pickle: typeof candidate) => pickle.tags.some((tag) => COUNTING_TAGS.has(tag.name));
  const mine = identitiesOf(candidate);
  return running.every((other) => !(counts(candidate) || counts(other)) || ![...identitiesOf(other)].some((id) => mine.has(id)));
});
