// Scenario set-up and tear-down: skip what the target cannot test (saying why), end every client and
// session afterwards, and check that steps/scheduling.ts knew every identity the scenario used.
import { After, Before, setParallelCanAssign } from '@cucumber/cucumber';
import { methodOfTags, rulesOfTags, type CapabilityTag } from '../rules/tags.ts';
import { canRunBeside, fillsSessionLimit, identitiesOf, waitsForExpiry } from './scheduling.ts';
import { instanceTally } from './instance-tally.ts';
import { missingCapability } from './target.ts';
import type { ConformanceWorld } from './world.ts';

Before(function (this: ConformanceWorld, { pickle }) {
  this.rules = rulesOfTags(pickle.tags.map((tag) => tag.name));
  this.method = methodOfTags(pickle.tags.map((tag) => tag.name));
  this.waitsForExpiry = waitsForExpiry(pickle);
  for (const { name } of pickle.tags) {
    const missing = missingCapability(name, this.target);
    if (missing) {
      this.log(`skipped: ${missing}`);
      return 'skipped';
    }
  }
  if (pickle.tags.some((tag) => tag.name === ('@on-alternative-names-namespace' satisfies CapabilityTag))) this.url = this.target.alternativeNamesUrl!;
  if (this.method === 'webhook') this.url = this.target.webhookUrl!;
  const limitNamespace = this.target.limitNamespace;
  if (fillsSessionLimit(pickle) && limitNamespace) {
    const url = this.method === 'webhook' ? limitNamespace.webhookUrl : limitNamespace.url;
    if (url) ({ url: this.url, sessionLimit: this.sessionLimit } = { url, sessionLimit: limitNamespace.sessionLimit });
  }
  const shortExpiry = this.target.shortExpiryNamespace;
  if (this.waitsForExpiry && shortExpiry) {
    // The main namespace's, the webhook's or the alternative names': each may have its short-expiry twin.
    const twins = new Map([
      [this.target.url, shortExpiry.url],
      [this.target.webhookUrl, shortExpiry.webhookUrl],
      [this.target.alternativeNamesUrl, shortExpiry.alternativeNamesUrl],
    ]);
    const url = twins.get(this.url);
    if (url) ({ url: this.url, maxSessionExpirySeconds: this.maxSessionExpirySeconds } = { url, maxSessionExpirySeconds: shortExpiry.maxSessionExpirySeconds });
  }
  return undefined;
});

After(async function (this: ConformanceWorld, { pickle }) {
  try {
    await this.cleanUp();
  } finally {
    this.attachPackets();
    if (this.instancesReached.size) instanceTally.scenarioEnded(this.rules, this.instancesReached.size);
  }
  // Every identity that held a session must be one steps/scheduling.ts saw in the scenario: another
  // would take a place under a session limit that a scenario beside this one fills (S9).
  const foreseen = identitiesOf(pickle);
  const unforeseen = [...new Set(this.accepted.map((session) => session.identityId))].filter((id) => !foreseen.has(id));
  if (unforeseen.length) {
    throw new Error(`the steps held sessions of ${unforeseen.map((id) => `identity "${id}"`).join(', ')}, which steps/scheduling.ts did not see in this scenario: declare the step's own identities in steps/roles.ts`);
  }
});

// Scenarios of an embedded run overlap (runner/scenario-lanes.ts); steps/scheduling.ts says which may.
setParallelCanAssign(canRunBeside);
