// Who is connecting, by token (custom JWT, T1-T8): the checks a token must pass, in order, the piece
// that names its client, the mutants that break them, and the answer they make of a token, which the
// token authenticator (reference/adapters/token/) gives the CONNECT decision, and the re-authentication.
// The signature is verified by the adapter (a JOSE library, with the namespace's issuer certificates);
// what it found is data here.
import { REAUTHENTICATE } from '../../rules/codes.ts';
import type { Authentication, AuthenticatedClient, Behaviour, Mutant, TokenContext, TokenExpectations, TokenPieces } from './behaviour.ts';
import { firstRefusal, withoutCheck, type Check } from './check.ts';
import type { PresentedToken } from './presented.ts';
import { refuse } from './refusal.ts';

/** The Authentication Method of a custom JWT, and of a Microsoft Entra ID token. */
export const CUSTOM_JWT = 'CUSTOM-JWT';
export const OAUTH2_JWT = 'OAUTH2-JWT';

/** What a namespace with these custom JWT settings expects of a token (the audience is the reference's setting). */
export function customJwtExpectations(tokenIssuer: string, audience: string): TokenExpectations {
  return { method: CUSTOM_JWT, issuers: [tokenIssuer], audience, nameClaim: 'sub' };
}

// The claims a JWT defines for itself (RFC 7519, 4.1); the others are the client's attributes.
const REGISTERED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti']);

export const EVENT_GRID_TOKENS: TokenPieces = {
  nameOfToken: (claims, _username, nameClaim) => {
    const name = claims[nameClaim];
    return typeof name === 'string' && name !== '' ? { name, source: `token ${nameClaim === 'sub' ? 'subject' : 'claim'} (${nameClaim})` } : undefined;
  },
  // T7: an AUTH of reason 0x19 whose token passes every check CONNECT's had to, for the same client.
  reauthenticationFailure: (client, reasonCode, { identity, refusal }) => {
    if (reasonCode !== REAUTHENTICATE) return refuse('T7', `an AUTH packet after CONNACK must re-authenticate (reason 0x19), not 0x${(reasonCode ?? 0).toString(16)}`);
    if (refusal) return refuse('T7', `re-authentication failed [${refusal.rule}]: ${refusal.reason}`);
    return identity.client.name === client.name ? undefined : refuse('T7', `re-authentication names another client ("${identity.client.authenticationName}")`);
  },
  // T8: the connection ends with its token (life cycle: ClientAuthenticationError).
  endsAtTokenExpiry: true,
};

const seconds = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value * 1000 : undefined);

// T6: tokens are MQTT 5's (its CONNECT carries an Authentication Method); a 3.1.1 password is no token.
const OVER_MQTT5: Check<TokenContext> = {
  name: 'the token came over MQTT 5',
  rule: 'T6',
  run: ({ token }) => (token.protocolVersion === 5 ? undefined : refuse('T6', 'token authentication is MQTT 5 only (an Authentication Method in the CONNECT)')),
};

// T5: the docs: a method other than CUSTOM-JWT fails ("invalid issuer") even when all else is right.
const METHOD_NAMED: Check<TokenContext> = {
  name: 'the Authentication Method is one the namespace has token settings for (CUSTOM-JWT, OAUTH2-JWT)',
  rule: 'T5',
  run: ({ token, settings }) => {
    if (!settings) return refuse('T5', `authentication method "${token.method}" is not supported: the namespace takes no tokens under it`);
    return token.method === settings.method ? undefined : refuse('T5', `authentication method "${token.method}" is not supported (${settings.method} is)`);
  },
};

const SIGNED: Check<TokenContext> = {
  name: "the token is signed with the key of one of the namespace's issuer certificates",
  rule: 'T4',
  run: ({ token }) => {
    if (!token.claims) return refuse('T4', 'the authentication data is not a JSON Web Token');
    return token.signatureProblem ? refuse('T4', `the token's signature does not verify with an issuer certificate (${token.signatureProblem})`) : undefined;
  },
};

const ISSUER_MATCHES: Check<TokenContext> = {
  name: "the token's issuer is the namespace's",
  rule: 'T3',
  run: ({ token, settings }) =>
    settings?.issuers.includes(token.claims?.iss as string) ? undefined : refuse('T3', `invalid issuer: the token's iss is not ${settings?.issuers.map((issuer) => `"${issuer}"`).join(' or ')}`),
};

const AUDIENCE_MATCHES: Check<TokenContext> = {
  name: "the token's audience includes the namespace's",
  rule: 'T3',
  run: ({ token, settings }) => {
    const aud = token.claims?.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    return audiences.includes(settings?.audience) ? undefined : refuse('T3', `invalid audience: the token's aud does not include "${settings?.audience}"`);
  },
};

const NOT_EXPIRED: Check<TokenContext> = {
  name: 'the token has an expiry, and it is not past',
  rule: 'T2',
  run: ({ token, now }) => {
    const expiry = seconds(token.claims?.exp);
    if (expiry === undefined) return refuse('T2', 'the token has no expiry (exp)');
    return now.getTime() < expiry ? undefined : refuse('T2', 'the token has expired');
  },
};

const STARTED: Check<TokenContext> = {
  name: 'the token is past its start (nbf), if it has one',
  rule: 'T2',
  run: ({ token, now }) => {
    const start = seconds(token.claims?.nbf);
    return start === undefined || now.getTime() >= start ? undefined : refuse('T2', 'the token is not yet valid (nbf)');
  },
};

const NAMES_CLIENT: Check<TokenContext> = {
  name: 'the token names its client',
  rule: 'T1',
  run: ({ token, settings, behaviour }) =>
    behaviour.nameOfToken(token.claims ?? {}, token.username, settings!.nameClaim) ? undefined : refuse('T1', `the token has no ${settings!.nameClaim} claim to name the client`, 'a token with no subject'),
};

/** T1-T6, in order: what is presented, then who vouches for it, then for whom and when. */
export const TOKEN_CHECKS: readonly Check<TokenContext>[] = [OVER_MQTT5, METHOD_NAMED, SIGNED, ISSUER_MATCHES, AUDIENCE_MATCHES, NOT_EXPIRED, STARTED, NAMES_CLIENT];

/**
 * The client a token proves: no client is registered for token authentication (the identity comes
 * from the token); its custom claims are its attributes (client groups, topic templates). Its resource
 * name is the authentication name without regard to case (A4), so that its sessions are one owner's.
 */
function tokenClient(name: string, claims: Record<string, unknown>, roleGrants: AuthenticatedClient['roleGrants']): AuthenticatedClient {
  // An Entra principal's permissions are its role assignments; its claims give it no attributes.
  const attributes = roleGrants ? {} : Object.fromEntries(Object.entries(claims).filter(([claim]) => !REGISTERED_CLAIMS.has(claim)));
  return {
    name: name.toLowerCase(),
    authenticationName: name,
    state: 'Enabled',
    clientCertificateAuthentication: { validationScheme: 'SubjectMatchesAuthenticationName', allowedThumbprints: [] },
    attributes,
    ...(roleGrants ? { roleGrants } : {}),
  };
}

/**
 * What a token proves under Behaviour's token checks; `roleGrantsOf` gives an Entra principal's
 * role-assigned topic templates by its name (E2), absent for custom JWTs.
 */
export function authenticateByToken(
  token: PresentedToken,
  now: Date,
  settings: TokenExpectations | undefined,
  behaviour: Behaviour,
  roleGrantsOf?: (principal: string) => AuthenticatedClient['roleGrants'],
): Authentication {
  const refusal = firstRefusal(behaviour.tokenChecks, { token, now, settings, behaviour });
  if (refusal) return { refusal };
  const claims = token.claims ?? {};
  const named = behaviour.nameOfToken(claims, token.username, settings!.nameClaim)!;
  return { identity: { client: tokenClient(named.name, claims, roleGrantsOf?.(named.name)), nameSource: named.source, expiresAt: seconds(claims.exp) } };
}

const without = (...checks: Check<TokenContext>[]) => (behaviour: Behaviour): Behaviour => ({
  ...behaviour,
  tokenChecks: checks.reduce(withoutCheck, behaviour.tokenChecks),
});

export const TOKEN_MUTANTS: readonly Mutant[] = [
  {
    rule: 'T1',
    breaks: "a token's client is named by the CONNECT's Username, not by the token's subject",
    apply: (behaviour) => ({
      ...behaviour,
      nameOfToken: (claims, username, nameClaim) => (username ? { name: username, source: 'username' } : behaviour.nameOfToken(claims, username, nameClaim)),
    }),
  },
  { rule: 'T2', breaks: "a token's exp and nbf are not checked", apply: without(NOT_EXPIRED, STARTED) },
  { rule: 'T3', breaks: "a token's issuer and audience are not checked", apply: without(ISSUER_MATCHES, AUDIENCE_MATCHES) },
  { rule: 'T4', breaks: "a token's signature is not checked", apply: without(SIGNED) },
  { rule: 'T5', breaks: 'a token is taken under any Authentication Method name', apply: without(METHOD_NAMED) },
  { rule: 'T6', breaks: 'an MQTT 3.1.1 CONNECT may present a token as its password', apply: without(OVER_MQTT5) },
  { rule: 'T7', breaks: 'an AUTH packet is never judged: a connection re-authenticating with a bad token is kept', apply: (behaviour) => ({ ...behaviour, reauthenticationFailure: () => undefined }) },
  { rule: 'T8', breaks: 'a connection outlives its token', apply: (behaviour) => ({ ...behaviour, endsAtTokenExpiry: false }) },
];
