// The client identities a conformance run needs, as data. Each names the rules it serves
// (ids from the rule catalogue, shared/mission/event-grid-rules.md).
import type { ValidationScheme } from '../eventgrid/authentication.ts';
import { OBSERVER } from '../eventgrid/suite-contract.ts';
import type { ExtendedKeyUsage, SubjectAltNames } from './x509.ts';


export type ClientState = 'Enabled' | 'Disabled';

/**
 * client: a registered, enabled identity with a good certificate.
 * case-variant: a certificate for a registered identity, its name in other letter case (A4).
 * disabled: a good certificate for an identity registered as Disabled (A2).
 * negative: registered and enabled, but its certificate is wrong in exactly one way (`defect`).
 */
export type IdentityRole = 'client' | 'case-variant' | 'disabled' | 'negative';

export type CertificateDefect =
  | 'expired'
  | 'not-yet-valid'
  | 'unregistered-ca'
  | 'no-client-auth'
  | 'subject-mismatch'
  | 'thumbprint-not-registered'
  | 'name-not-in-scheme-field'
  | 'name-in-second-cn';

export const DEFECT_DESCRIPTIONS: Record<CertificateDefect, string> = {
  expired: 'validity ended before now',
  'not-yet-valid': 'validity starts years from now',
  'unregistered-ca': 'signed by a CA that is not registered on the namespace',
  'no-client-auth': 'extended key usage lacks clientAuth (serverAuth only)',
  'subject-mismatch': "subject CN differs from the identity's authentication name",
  'thumbprint-not-registered': 'self-signed, and its thumbprint is not in allowedThumbprints',
  'name-not-in-scheme-field': 'carries the authentication name in its subject CN, not in the field its validation scheme reads',
  'name-in-second-cn': 'its subject has two CNs: another name, then the authentication name',
};

export type CertificateIssuer = 'intermediate' | 'self' | 'unregistered-ca';
export type Validity = 'current' | 'expired' | 'not-yet-valid';

export interface IdentitySpec {
  /** Handle used by scenarios and as the file stem. */
  id: string;
  role: IdentityRole;
  /** The name the identity presents; a case-variant's differs in case only from that of `variantOf`. */
  authenticationName: string;
  /** For a case-variant: the id of the registered identity it stands for. */
  variantOf?: string;
  validationScheme: ValidationScheme;
  state: ClientState;
  commonName: string;
  /** Further subject CN attributes after `commonName`, in order (A3, A5: a name in a second CN). */
  moreCommonNames?: string[];
  altNames: SubjectAltNames;
  issuer: CertificateIssuer;
  validity: Validity;
  extendedKeyUsage: ExtendedKeyUsage[];
  /** ThumbprintMatch only: whether the certificate's own thumbprint is registered. */
  thumbprintRegistered: boolean;
  defect?: CertificateDefect;
  rules: string[];
}

function subjectIdentity(id: string, rules: string[]): IdentitySpec {
  return {
    id,
    role: 'client',
    authenticationName: id,
    validationScheme: 'SubjectMatchesAuthenticationName',
    state: 'Enabled',
    commonName: id,
    altNames: {},
    issuer: 'intermediate',
    validity: 'current',
    extendedKeyUsage: ['clientAuth'],
    thumbprintRegistered: false,
    rules,
  };
}

/** An identity whose name sits in one SAN field; its CN differs so that only that field can match. */
function sanIdentity(id: string, scheme: ValidationScheme, name: string, altNames: SubjectAltNames): IdentitySpec {
  return { ...subjectIdentity(id, ['A3', 'A5']), authenticationName: name, validationScheme: scheme, commonName: `${id}-subject`, altNames };
}

function negative(id: string, defect: CertificateDefect, change: Partial<IdentitySpec>): IdentitySpec {
  return { ...subjectIdentity(id, ['A1', 'A3', 'A6']), role: 'negative', defect, ...change };
}

/** A3: a subject CN that is almost, not quite, the authentication name (`id`). */
function nearMiss(id: string, commonName: string): IdentitySpec {
  return { ...subjectIdentity(id, ['A3']), role: 'negative', defect: 'subject-mismatch', commonName };
}

/** A3: a SAN scheme's name in the subject CN only, so that only a broker that reads any field accepts it. */
function nameOutsideSchemeField(id: string, scheme: ValidationScheme, name: string): IdentitySpec {
  return { ...subjectIdentity(id, ['A3']), role: 'negative', defect: 'name-not-in-scheme-field', authenticationName: name, validationScheme: scheme, commonName: name };
}

export const IDENTITY_SPECS: readonly IdentitySpec[] = [
  subjectIdentity('alpha', ['S1', 'S2', 'S5', 'S6', 'S7', 'S8', 'S9', 'L1', 'L2', 'L3', 'A3']),
  subjectIdentity('beta', ['S5', 'S6', 'S7', 'A3']),
  subjectIdentity('gamma', ['S5', 'S6', 'S7', 'A3']),
  // Publishes to other sessions in scenarios and takes no part in any rule, so never hits a limit.
  subjectIdentity(OBSERVER, ['L2', 'S6']),
  sanIdentity('dns-client', 'DnsMatchesAuthenticationName', 'dns-client.devices.example.test', {
    dns: ['dns-client.devices.example.test'],
  }),
  sanIdentity('uri-client', 'UriMatchesAuthenticationName', 'urn:example:devices:uri-client', {
    uri: ['urn:example:devices:uri-client'],
  }),
  // 192.0.2.0/24 is reserved for documentation: a name only, never an address anything connects to.
  sanIdentity('ip-client', 'IpMatchesAuthenticationName', '192.0.2.10', { ip: ['192.0.2.10'] }),
  sanIdentity('email-client', 'EmailMatchesAuthenticationName', 'email-client@devices.example.test', {
    email: ['email-client@devices.example.test'],
  }),
  {
    ...subjectIdentity('thumb-client', ['A3']),
    validationScheme: 'ThumbprintMatch',
    issuer: 'self',
    thumbprintRegistered: true,
  },
  {
    ...subjectIdentity('alpha-upper', ['A4']),
    role: 'case-variant',
    authenticationName: 'ALPHA',
    variantOf: 'alpha',
    commonName: 'ALPHA',
  },
  { ...subjectIdentity('delta-disabled', ['A2']), role: 'disabled', state: 'Disabled' },
  // The seed page's own example: an authentication name that reads like an address, two sessions.
  { ...subjectIdentity('seed-ipv4', ['S1', 'S2']), authenticationName: 'ipv4=127.0.0.1', commonName: 'ipv4=127.0.0.1' },
  // L6: the longest authentication name, 128 characters. ThumbprintMatch, so that no certificate field
  // has to hold it (a subject CN holds at most 64); the suite presents it with one character more.
  {
    ...subjectIdentity('long-name', ['L6']),
    authenticationName: `long-name-${'x'.repeat(128 - 'long-name-'.length)}`,
    validationScheme: 'ThumbprintMatch',
    issuer: 'self',
    thumbprintRegistered: true,
  },
  negative('neg-expired', 'expired', { validity: 'expired' }),
  negative('neg-not-yet-valid', 'not-yet-valid', { validity: 'not-yet-valid' }),
  negative('neg-unregistered-ca', 'unregistered-ca', { issuer: 'unregistered-ca' }),
  negative('neg-no-client-auth', 'no-client-auth', { extendedKeyUsage: ['serverAuth'] }),
  negative('neg-subject-mismatch', 'subject-mismatch', { commonName: 'not-neg-subject-mismatch' }),
  negative('neg-thumbprint-unregistered', 'thumbprint-not-registered', {
    validationScheme: 'ThumbprintMatch',
    issuer: 'self',
  }),
  // A3's near misses: the subject CN is almost the authentication name (each registered under its own
  // name, with the subject scheme), so that only a broker that matches loosely accepts them.
  nearMiss('neg-name-prefixes-cn', 'neg-name-prefixes-cnx'),
  nearMiss('neg-cn-prefixes-name', 'neg-cn-prefixes-nam'),
  nearMiss('neg-name-ends-cn', 'x-neg-name-ends-cn'),
  nearMiss('neg-trailing-space', 'neg-trailing-space '),
  nearMiss('neg-trailing-dot', 'neg-trailing-dot.'),
  // U+0435 CYRILLIC SMALL LETTER IE for the "e"s.
  nearMiss('neg-look-alike', 'n\u0435g-look-alik\u0435'),
  // "café" registered composed (NFC, U+00E9), the CN decomposed (NFD, "e" and U+0301).
  { ...nearMiss('neg-nfd', 'neg-cafe\u0301'), authenticationName: 'neg-caf\u00e9' },
  // ...and two that do prove their name: in other letter case (A4), and in the second of two DNS names.
  { ...subjectIdentity('cn-upper-case', ['A3', 'A4']), commonName: 'CN-UPPER-CASE' },
  sanIdentity('dns-second', 'DnsMatchesAuthenticationName', 'dns-second.devices.example.test', {
    dns: ['other.devices.example.test', 'dns-second.devices.example.test'],
  }),
  // A3, A5: the name in the second of two subject CNs, after a name no client is registered with. Which
  // CN Event Grid reads of such a subject the docs do not say (inferred: none names the client).
  {
    ...subjectIdentity('neg-second-cn', ['A3', 'A5']),
    role: 'negative',
    defect: 'name-in-second-cn',
    commonName: 'someone-else',
    moreCommonNames: ['neg-second-cn'],
  },
  nameOutsideSchemeField('neg-dns-in-cn', 'DnsMatchesAuthenticationName', 'neg-dns-in-cn.devices.example.test'),
  nameOutsideSchemeField('neg-uri-in-cn', 'UriMatchesAuthenticationName', 'urn:example:devices:neg-uri-in-cn'),
  nameOutsideSchemeField('neg-ip-in-cn', 'IpMatchesAuthenticationName', '192.0.2.20'),
  nameOutsideSchemeField('neg-email-in-cn', 'EmailMatchesAuthenticationName', 'neg-email-in-cn@devices.example.test'),
];

/**
 * The identity whose CONNECT controls a refusal of this one (steps/world.ts): itself, or, for one whose
 * certificate or registration is wrong on purpose, the first good client under the same validation
 * scheme. Undefined when there is none.
 */
export function controlCounterpart(identities: readonly Pick<IdentitySpec, 'id' | 'role' | 'validationScheme'>[], id: string): string | undefined {
  const identity = identities.find((candidate) => candidate.id === id);
  if (!identity) return undefined;
  if (identity.role !== 'negative' && identity.role !== 'disabled') return id;
  return identities.find((other) => other.role === 'client' && other.validationScheme === identity.validationScheme)?.id;
}
