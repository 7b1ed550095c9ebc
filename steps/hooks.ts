// Scenario set-up and tear-down: skip what the target cannot test (saying why), end every client and
// session afterwards.
import { After, Before, setParallelCanAssign } from '@cucumber/cucumber';
import { controlCounterpart, IDENTITY_SPECS } from '../certs/identities.ts';
import { rulesOfTags, type CapabilityTag } from '../rules/tags.ts';
import { missingCapability } from './target.ts';
import { EXPIRY_PROBERS, OBSERVER, type ConformanceWorld } from './world.ts';

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
  return undefined;
});

After(async function (this: ConformanceWorld) {
  await this.cleanUp();
});

// A parallel run (embedded targets: runner/cli.ts) runs scenarios in worker processes at once.
type Pickle = Parameters<Parameters<typeof setParallelCanAssign>[0]>[0];

/**
 * Scenarios that count an identity's sessions: two sessions at once (S1/S2), the known limit (S9), or
 * S3's bare ClientID (the same name for both versions). Another scenario using one of their
 * identities would change the count.
 */
const COUNTING: readonly CapabilityTag[] = ['@needs-two-sessions', '@needs-known-session-limit'];
function counts(pickle: Pickle): boolean {
  const tags = pickle.tags.map((tag) => tag.name);
  return tags.some((tag) => (COUNTING as readonly string[]).includes(tag)) || rulesOfTags(tags).includes('S3');
}

/**
 * The identities a scenario's steps use: those they name ('identity "alpha"', or several racing:
 * 'identities "alpha", "beta" and "gamma"'), the good identity that controls the refusals of one whose
 * certificate or registration is wrong on purpose (steps/world.ts), and those steps use on their own.
 */
function identitiesOf(pickle: Pickle): Set<string> {
  const named = pickle.steps.flatMap((step) => [
    ...[...step.text.matchAll(/identity "([^"]+)"/g)].map((match) => match[1]!),
    ...[...step.text.matchAll(/identities ((?:"[^"]+"(?:, | and )?)+)/g)].flatMap((match) => [...match[1]!.matchAll(/"([^"]+)"/g)].map((name) => name[1]!)),
  ]);
  const ids = new Set(named);
  for (const id of named) {
    const counterpart = controlCounterpart(IDENTITY_SPECS, id);
    if (counterpart) ids.add(counterpart);
  }
  // Messages to a session are published by the observer; an expiry is probed by another identity.
  if (pickle.steps.some((step) => /publish/.test(step.text))) ids.add(OBSERVER);
  if (pickle.steps.some((step) => /\bexpires\b/.test(step.text))) for (const id of EXPIRY_PROBERS) ids.add(id);
  return ids;
}

/**
 * A scenario that counts an identity's sessions never overlaps another scenario that uses that
 * identity. Others may overlap: every scenario's session names (and so topics, queues and retained
 * messages) carry its own prefix, and no scenario that does not count holds more than one session of
 * an identity at once, so two workers never take an identity past the embedded limit of 2. The
 * limits scenarios that load the broker (L8's queues of 100+ messages, L10's 50 subscriptions) or
 * time it (L14's silent connection, closed between 1 and 3.5 s) share nothing else with the other
 * scenarios, and their margins hold with two workers.
 */
setParallelCanAssign((candidate, running) => {
  const mine = identitiesOf(candidate);
  return running.every((other) => !(counts(candidate) || counts(other)) || ![...identitiesOf(other)].some((id) => mine.has(id)));
});
