// The local token issuer: the key `npm run certs` makes beside the CAs signs JSON Web Tokens for the
// identities of the set, as a custom JWT identity provider would for an Event Grid namespace (T1-T8).
// The namespace of a set (certs/namespace.ts) trusts its certificate and names it the token issuer.
import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { DEFAULT_TOKEN_AUDIENCE, type CustomJwtInput, type NamespaceInput } from '../eventgrid/namespace.ts';
import { OBSERVER } from '../eventgrid/suite-contract.ts';
import { PkiError, type LoadedPki } from './manifest.ts';

/** The `iss` of the local issuer's tokens, and the token issuer the set's namespace expects. */
export const LOCAL_TOKEN_ISSUER = 'https://issuer.mqtt-multisession-conformance.test/';

/** The tenant of the local Microsoft Entra ID stand-in (E1, E2): its tokens are the local issuer's, in Entra's shape. */
export const LOCAL_TENANT = '00000000-0000-4000-8000-00000000c0de';
const ENTRA_ISSUER = `https://sts.windows.net/${LOCAL_TENANT}/`;
const ENTRA_AUDIENCE = 'https://eventgrid.azure.net/';

/** The principal of the stand-in tenant that may only subscribe (E2); every other client may do both. */
export const SUBSCRIBER_ONLY_PRINCIPAL = 'gamma';

/** How long a token lasts unless asked otherwise, seconds. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

export interface TokenRequest {
  /** An identity of the set (its id in identities.json): the token's subject is its authentication name. */
  identity: string;
  /** Seconds from `now` to the token's expiry; negative: already expired. Default one hour. */
  expiresInSeconds?: number;
  /** Seconds from `now` before which the token is not valid (nbf); absent: none. */
  notBeforeInSeconds?: number;
  /** More claims, or claims that replace the issuer's (iss, aud, sub too). */
  claims?: Record<string, unknown>;
  /** Sign with a key the namespace does not trust (the unregistered CA's), for a forged token. */
  untrusted?: boolean;
  /** OAUTH2-JWT: a token of the local Entra ID stand-in (iss its tenant's, oid the identity's name, sub per application, no role claim). Default CUSTOM-JWT. */
  method?: 'CUSTOM-JWT' | 'OAUTH2-JWT';
  now?: Date;
}

/** The custom JWT settings that make a namespace trust the set's local issuer; undefined for sets made before tokens. */
export function localIssuerSettings(pki: LoadedPki): CustomJwtInput | undefined {
  const issuer = pki.manifest.ca.tokenIssuer;
  if (!issuer) return undefined;
  return { tokenIssuer: LOCAL_TOKEN_ISSUER, encodedIssuerCertificates: [{ kid: 'local-issuer', encodedCertificate: pki.read(issuer.certificate) }] };
}

/**
 * The local Entra ID stand-in a set's namespace trusts (E1, E2): its tenant, the local issuer's
 * certificate as its signing key's, and role assignments on the suite's topic spaces
 * (eventgrid/suite-contract.ts): every client both roles on its own topics (SUBSCRIBER_ONLY_PRINCIPAL
 * only Subscriber), the observer Publisher on every client's.
 */
export function localEntraSettings(pki: LoadedPki, topicSpaces: { own: string; all: string }): NonNullable<NamespaceInput['reference']>['entraId'] | undefined {
  const issuer = pki.manifest.ca.tokenIssuer;
  if (!issuer) return undefined;
  const roleAssignments = pki.manifest.identities.flatMap((identity) => {
    const principalId = identity.authenticationName;
    if (identity.id === OBSERVER) return [{ principalId, roleDefinitionName: 'EventGrid TopicSpaces Publisher' as const, topicSpaceName: topicSpaces.all }];
    if (identity.role !== 'client') return [];
    const subscriber = { principalId, roleDefinitionName: 'EventGrid TopicSpaces Subscriber' as const, topicSpaceName: topicSpaces.own };
    return identity.id === SUBSCRIBER_ONLY_PRINCIPAL ? [subscriber] : [subscriber, { ...subscriber, roleDefinitionName: 'EventGrid TopicSpaces Publisher' as const }];
  });
  return { tenantId: LOCAL_TENANT, signingCertificates: [{ encodedCertificate: pki.read(issuer.certificate) }], roleAssignments };
}

/** A signed token (RS256) of the local issuer for an identity of the set, with its registered attributes as claims. */
export async function issueToken(pki: LoadedPki, request: TokenRequest): Promise<string> {
  const issuer = pki.manifest.ca.tokenIssuer;
  if (!issuer) throw new PkiError(`the PKI set in ${pki.dir} has no token issuer (made before tokens): make it anew with \`npm run certs -- --renew\``);
  const identity = pki.identities.get(request.identity)?.entry;
  if (!identity) {
    throw new PkiError(`no identity "${request.identity}" in ${pki.dir}; the set has ${[...pki.identities.keys()].join(', ')}`);
  }
  const now = Math.floor((request.now ?? new Date()).getTime() / 1000);
  const key = createPrivateKey(pki.read(request.untrusted ? pki.manifest.ca.unregistered.key : issuer.key));
  const own =
    request.method === 'OAUTH2-JWT'
      ? // The stand-in's principals are the set's identities, their object ids their authentication names;
        // Entra makes a token's sub per application, so it is not the name.
        { iss: ENTRA_ISSUER, aud: ENTRA_AUDIENCE, tid: LOCAL_TENANT, oid: identity.authenticationName, sub: `app-pairwise-${identity.id}` }
      : { iss: LOCAL_TOKEN_ISSUER, aud: DEFAULT_TOKEN_AUDIENCE, sub: identity.authenticationName, role: identity.role };
  const claims = { ...own, ...request.claims };
  const token = new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + (request.expiresInSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS));
  if (request.notBeforeInSeconds !== undefined) token.setNotBefore(now + request.notBeforeInSeconds);
  return token.sign(key);
}
