// Scenario set-up and tear-down: skip what the target cannot test (saying why), end every client and
// session afterwards.
import { After, Before, setParallelCanAssign } from '@cucumber/cucumber';
import { rulesOfTags, type CapabilityTag } from '../rules/tags.ts';
import { canRunBeside, fillsSessionLimit } from './scheduling.ts';
import { missingCapability } from './target.ts';
import type { ConformanceWorld } from './world.ts';

Before(function (this: ConformanceWorld, { pickle }) {
  this.rules = rulesOfTags(pickle.tags.map((tag) => tag.name));
  for (const { name } of pickle.tags) {
    const missing = missingCapability(name, this.target);
    if (missing) {
      this.log(`skipped: ${missing}`);
      return 'skipped';
    }
  }
  if (pickle.tags.some((tag) => tag.name === ('@on-alternative-names-namespace' satisfies CapabilityTag))) this.url = this.target.alternativeNamesUrl!;
  if (fillsSessionLimit(pickle) && this.target.limitNamespace) ({ url: this.url, sessionLimit: this.sessionLimit } = this.target.limitNamespace);
  return undefined;
});

After(async function (this: ConformanceWorld) {
  await this.cleanUp();
});

// Scenarios of an embedded run overlap (runner/scenario-lanes.ts); steps/scheduling.ts says which may.
setParallelCanAssign(canRunBeside);
