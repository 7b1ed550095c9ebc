import type { Pickle } from '@cucumber/messages';
import { describe, expect, it } from 'vitest';
import { canRunBeside, identitiesOf, startRank } from './scheduling.ts';

/** A scenario as cucumber hands it over, with only what scheduling reads. */
function scenario(...steps: string[]): Pickle {
  return { id: steps.join('|'), uri: 'x.feature', name: steps[0] ?? '', language: 'en', astNodeIds: [], tags: [], steps: steps.map((text, index) => ({ id: String(index), text, astNodeIds: [] })) };
}

const holdsAlpha = scenario('identity "alpha" holds session "s1" over MQTT 5', 'identity "beta" connects with session "s1"');
const fillsBeta = scenario('a refusal here is controlled by the same CONNECT from identity "gamma"', 'identity "beta" holds as many sessions as the namespace allows over MQTT 5');
const bareAlpha = scenario('identity "alpha" connects without a Username with session named as its authentication name over MQTT 5');

describe('which scenarios may run at the same time', () => {
  it('lets scenarios that share identities overlap', () => {
    expect(canRunBeside(holdsAlpha, [scenario('identity "alpha" holds session "s2" over MQTT 3.1.1'), holdsAlpha])).toBe(true);
  });

  it('gives a scenario that fills an identity\'s session limit that identity to itself, either way round', () => {
    expect(canRunBeside(fillsBeta, [holdsAlpha])).toBe(false);
    expect(canRunBeside(holdsAlpha, [fillsBeta])).toBe(false);
    expect(canRunBeside(fillsBeta, [fillsBeta])).toBe(false);
  });

  it('lets a scenario that fills a limit run beside one that uses only its control identity', () => {
    const usesGamma = scenario('identity "gamma" holds session "s1" over MQTT 5');
    expect(canRunBeside(fillsBeta, [usesGamma])).toBe(true);
    expect(canRunBeside(usesGamma, [fillsBeta])).toBe(true);
  });

  it('gives a scenario that changes an identity\'s registered client (A7) that identity to itself, and no other', () => {
    const disablesThumb = scenario('identity "thumb-client" holds session "t1" over MQTT 5', 'the namespace disables identity "thumb-client"');
    const usesThumb = scenario('identity "thumb-client" holds session "s1" over MQTT 5');
    expect(canRunBeside(disablesThumb, [usesThumb])).toBe(false);
    expect(canRunBeside(usesThumb, [disablesThumb])).toBe(false);
    expect(canRunBeside(scenario('the namespace changes the credentials of identity "thumb-client"'), [usesThumb])).toBe(false);
    expect(canRunBeside(disablesThumb, [holdsAlpha])).toBe(true);
  });

  it('keeps apart two scenarios whose ClientID is the same bare authentication name, and only those', () => {
    expect(canRunBeside(bareAlpha, [bareAlpha])).toBe(false);
    expect(canRunBeside(bareAlpha, [holdsAlpha])).toBe(true);
  });

  it('reads every identity of a race', () => {
    expect([...identitiesOf(scenario('identities "alpha", "beta" and "gamma" connect at once with session "contested" over MQTT 5'))].sort()).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('counts the identities steps use on their own: the publishing observer, the expiry probers', () => {
    expect([...identitiesOf(scenario('a QoS 1 message "m" is published to session "s1"'))]).toContain('observer');
    expect([...identitiesOf(scenario('identity "alpha" holds session "s1" over MQTT 5', 'session "s1" expires'))].sort()).toEqual(['alpha', 'gamma', 'observer']);
  });

  // Steps that check what a session receives publish to it as the observer, though their text says no "publish".
  it.each([
    'a QoS 1 message "while away" is published to session "s1"',
    '100 QoS 1 messages of 10 KiB are published to session "s1"',
    'session "s2" receives QoS 1 messages too',
    'identity "alpha" is still connected on session "s1" and still receives QoS 1 messages',
    'session "b1" does not receive "forged"',
  ])('counts the observer in a scenario with the step %j', (text) => {
    expect(identitiesOf(scenario(text)).has('observer')).toBe(true);
  });

  it('does not count the observer where a session publishes as its own client', () => {
    expect([...identitiesOf(scenario('identity "alpha" holds session "s1" over MQTT 5', 'session "s1" publishes "own" to its own topic'))]).toEqual(['alpha']);
  });

  it('keeps a scenario in which the observer publishes away from one that fills the observer\'s session limit', () => {
    const fillsObserver = scenario('identity "observer" holds as many sessions as the namespace allows over MQTT 5');
    const receivesToo = scenario('identity "alpha" holds session "s2" over MQTT 5', 'session "s2" receives QoS 1 messages too');
    expect(canRunBeside(receivesToo, [fillsObserver])).toBe(false);
    expect(canRunBeside(fillsObserver, [receivesToo])).toBe(false);
  });
});

describe('which scenarios start first', () => {
  it('ranks the longest waits highest, then the scenarios that fill a limit, then the rest', () => {
    const silent = scenario('the connection stays silent and is closed after one and a half Keep Alives');
    const expires = scenario('session "s1" expires');
    const almost = scenario('session "s1" has almost expired');
    const token = scenario('session "s1" is still connected once its first token has expired');
    const order = [holdsAlpha, almost, fillsBeta, token, expires, silent].sort((a, b) => startRank(b) - startRank(a));
    expect(order).toEqual([token, silent, expires, almost, fillsBeta, holdsAlpha]);
    expect(startRank(holdsAlpha)).toBe(0);
  });
});
