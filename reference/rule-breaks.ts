// Test-only mutants of the reference broker: each breaks one rule in one documented way, so that the
// conformance suite can be shown to fail exactly where a broker goes wrong.
import type { RuleId } from '../rules/catalogue.ts';
import { ACCESS_MUTANTS } from './authorization.ts';

export const RULE_BREAKS: Partial<Record<RuleId, string>> = {
  S1: 'an identity may hold only one session, whatever the namespace allows',
  S3: 'without a Username the certificate CN names the client, so several sessions are possible',
  S4: 'an empty ClientID is accepted (aedes assigns one)',
  S5: 'session names are not owned: any identity may take any session',
  S6: "another identity may take over an active session",
  S7: "another identity may take a held session before it expires",
  S8: 'the owner reconnecting to its connected session is refused',
  S9: 'no limit on sessions per authentication name',
  L1: 'no cap on the Session Expiry Interval; 3.1.1 persistent sessions never expire',
  L2: 'a session keeps nothing across connections',
  L3: 'Clean Start is ignored: the previous session resumes',
  A1: "the certificate's validity period and key usage are not checked",
  A2: 'clients registered Disabled are accepted',
  A3: 'the validation scheme is ignored: any certificate proves any name',
  A4: 'authentication names compare case-sensitively',
  A5: 'configured alternative name sources are ignored: with no Username the ClientID names the client',
  A6: 'a failed authentication closes the connection with no CONNACK',
  // P1-P4: declared beside their checks in authorization.ts.
  ...Object.fromEntries(ACCESS_MUTANTS.map((mutant) => [mutant.rule, mutant.breaks])),
};

export const BREAKABLE_RULES = Object.keys(RULE_BREAKS) as RuleId[];
