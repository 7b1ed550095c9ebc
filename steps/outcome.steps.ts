// Steps that check what the target answered: CONNACKs, Session Present, the older connection's end.
import { ConformanceFailure } from '../common/errors.ts';
import { Then } from '@cucumber/cucumber';
import { SESSION_EXPIRY_HOURS_RANGE } from '../eventgrid/namespace.ts';
import { findRule } from '../rules/catalogue.ts';
import { REFUSAL, refusalCodeFor, SESSION_TAKEN_OVER, type RefusalName } from '../rules/codes.ts';
import type { Accepted } from '../mqtt-client/session-client.ts';
import type { ConformanceWorld } from './world.ts';

function lastOutcome(world: ConformanceWorld) {
  if (!world.lastOutcome) throw new Error('no connection was attempted before this step');
  return world.lastOutcome;
}

function mustBeAccepted(world: ConformanceWorld, step: string): Accepted {
  const outcome = lastOutcome(world);
  const observed = outcome.accepted ? 'accepted' : `refused: ${world.describe(outcome.code)}${outcome.reasonString ? ` (${outcome.reasonString})` : ''}`;
  world.observe({ step, expected: 'accepted', observed });
  if (!outcome.accepted) throw new ConformanceFailure(`expected the connection to be accepted, got ${observed}`);
  return outcome;
}

Then('the connection is accepted', function (this: ConformanceWorld) {
  mustBeAccepted(this, 'the connection is accepted');
});

Then('the connection is accepted as a new session', function (this: ConformanceWorld) {
  const { client } = mustBeAccepted(this, 'the connection is accepted as a new session');
  if (client.sessionPresent) throw new ConformanceFailure('expected CONNACK Session Present 0 (a new session), got 1: state of an earlier session was kept');
});

Then('the connection is accepted resuming its session', function (this: ConformanceWorld) {
  const { client } = mustBeAccepted(this, 'the connection is accepted resuming its session');
  if (!client.sessionPresent) throw new ConformanceFailure('expected CONNACK Session Present 1 (the session resumed), got 0');
});

function mustBeRefused(world: ConformanceWorld, step: string, expected: string, accept: (code: number | undefined) => boolean): void {
  const outcome = lastOutcome(world);
  const observed = outcome.accepted
    ? `accepted: ${world.describe(0)}${outcome.client.sessionPresent ? ', Session Present 1' : ''}`
    : `refused: ${world.describe(outcome.code)}${outcome.reasonString ? ` (${outcome.reasonString})` : ''}`;
  world.observe({ step, expected, observed });
  if (outcome.accepted || !accept(outcome.code)) throw new ConformanceFailure(`expected ${expected}, got ${observed}`);
}

Then('the connection is refused', function (this: ConformanceWorld) {
  mustBeRefused(this, 'the connection is refused', 'a refusal (the exact code is not documented)', () => true);
});

Then('the connection is refused with a CONNACK', function (this: ConformanceWorld) {
  mustBeRefused(this, 'the connection is refused with a CONNACK', 'a CONNACK with a refusal code', (code) => code !== undefined);
});

/**
 * A refusal with a named code, which must be the code the catalogue expects for the scenario's rules;
 * the expectation shows whether the docs state that code or the project infers it.
 */
function mustBeRefusedWith(world: ConformanceWorld, step: string, name: RefusalName): void {
  const rulesByBasis = new Map<string, string[]>();
  for (const id of world.rules) {
    for (const refusal of findRule(id)?.refusals ?? []) {
      if (refusal.code === name) rulesByBasis.set(refusal.basis, [...(rulesByBasis.get(refusal.basis) ?? []), id]);
    }
  }
  if (!rulesByBasis.size) throw new Error(`the step "${step}" asserts a code that no rule of this scenario (${world.rules.join(', ') || 'none'}) expects in the catalogue`);
  const code = refusalCodeFor(world.version, REFUSAL[name]);
  if (code === undefined) throw new Error(`the step "${step}" asserts a CONNACK code that MQTT ${world.version} does not have`);
  const basis = [...rulesByBasis].map(([how, ids]) => `${how} for ${ids.join(', ')}`).join('; ');
  mustBeRefused(world, step, `CONNACK ${world.describe(code)} (${basis})`, (observed) => observed === code);
}

// S5/S6/S7: the docs say "unauthorized"; both versions have a code of that name.
Then('the connection is refused as not authorized', function (this: ConformanceWorld) {
  mustBeRefusedWith(this, 'the connection is refused as not authorized', 'notAuthorized');
});

// L5: a ClientID past 128 characters.
Then('the connection is refused as an invalid ClientID', function (this: ConformanceWorld) {
  mustBeRefusedWith(this, 'the connection is refused as an invalid ClientID', 'clientIdentifierNotValid');
});

Then('the CONNACK reports the namespace\'s maximum session expiry', function (this: ConformanceWorld) {
  const { client } = mustBeAccepted(this, 'the CONNACK reports the maximum session expiry');
  const reported = client.connackProperties.sessionExpiryInterval as number | undefined;
  // A declared maximum is expected exactly; otherwise the value in force must lie in Event Grid's range.
  const [min, max] = this.target.maxSessionExpiryDeclared
    ? [this.target.maxSessionExpirySeconds, this.target.maxSessionExpirySeconds]
    : [SESSION_EXPIRY_HOURS_RANGE.min * 3600, SESSION_EXPIRY_HOURS_RANGE.max * 3600];
  const expected = min === max ? `Session Expiry Interval ${min}` : `Session Expiry Interval from ${min} to ${max} (Event Grid's 1 to 8 hours; no maximum declared)`;
  this.observe({ step: 'the CONNACK reports the maximum session expiry', expected, observed: `Session Expiry Interval ${reported ?? 'absent'}` });
  if (reported === undefined || reported < min || reported > max) throw new ConformanceFailure(`expected the CONNACK to carry ${expected}, got ${reported ?? 'none'}`);
});

Then(
  /^the older connection of session "([^"]*)" is ended by (a DISCONNECT with 0x8E \(Session taken over\)|the connection closing)$/,
  async function (this: ConformanceWorld, sessionName: string, ending: string) {
    const older = this.replaced.get(sessionName);
    if (!older) throw new Error(`session "${sessionName}" had no older connection in this scenario`);
    const end = await Promise.race([older.ended, new Promise<undefined>((resolve) => setTimeout(resolve, 3000))]);
    const observed = end === undefined ? 'still connected' : end.disconnectReasonCode === undefined ? 'closed' : `DISCONNECT ${this.describe(end.disconnectReasonCode)}`;
    const wantsDisconnect = ending.startsWith('a DISCONNECT');
    this.observe({ step: 'the older connection is ended', expected: ending, observed });
    if (!end) throw new ConformanceFailure('the older connection was not ended');
    if (wantsDisconnect && end.disconnectReasonCode !== SESSION_TAKEN_OVER) throw new ConformanceFailure(`expected ${ending}, got ${observed}`);
  },
);
