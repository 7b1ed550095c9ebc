// Who is connecting, by certificate: the authentication name (Username, else certificate fields, else
// the ClientID), the registered client it names, and whether the certificate proves it under the
// client's scheme. The certificate checks (A1-A5) in order, the pieces they use, the mutants that break
// them, and the answer they make of a CONNECT's credentials, which the certificate authenticator
// (reference/adapters/certificate/) gives the CONNECT decision.
import type { AuthenticationNameSource, ValidationScheme } from '../../eventgrid/authentication.ts';
import type { ClientResource, NamespaceConfig } from '../../eventgrid/namespace.ts';
import type { RuleId } from '../../rules/catalogue.ts';
import type { Authentication, AuthenticationName, Behaviour, CertificateContext, IdentityPieces, IdentityRequest, Mutant } from './behaviour.ts';
import { firstRefusal, withoutCheck, type Check } from './check.ts';
import type { PresentedCertificate } from './presented.ts';
import { refuse } from './refusal.ts';

type SubjectNames = IdentityPieces['subjectNames'];

const FIELD_OF_SOURCE: Record<AuthenticationNameSource, (c: PresentedCertificate, subjectNames: SubjectNames) => string[]> = {
  ClientCertificateSubject: (c, subjectNames) => subjectNames(c),
  ClientCertificateDns: (c) => c.dns,
  ClientCertificateUri: (c) => c.uri,
  ClientCertificateIp: (c) => c.ip,
  ClientCertificateEmail: (c) => c.email,
};

const SCHEME_SOURCE: Record<Exclude<ValidationScheme, 'ThumbprintMatch'>, AuthenticationNameSource> = {
  SubjectMatchesAuthenticationName: 'ClientCertificateSubject',
  DnsMatchesAuthenticationName: 'ClientCertificateDns',
  UriMatchesAuthenticationName: 'ClientCertificateUri',
  IpMatchesAuthenticationName: 'ClientCertificateIp',
  EmailMatchesAuthenticationName: 'ClientCertificateEmail',
};

export const EVENT_GRID_IDENTITY: IdentityPieces = {
  sameName: (a, b) => a.toLowerCase() === b.toLowerCase(),
  alternativeNameSources: (namespace) => namespace.topicSpacesConfiguration.clientAuthentication.alternativeAuthenticationNameSources,
  // S3: with no Username, the ClientID doubles as the authentication name (one session only).
  nameWithoutUsername: (request) => ({ name: request.clientId, source: 'clientId' }),
  nameOfUsername: (username) => ({ name: username, source: 'username' }),
  // A3, A5: the subject names a client by its CN when it has exactly one. Of a subject with several CNs
  // the docs do not say which is read (CERTAUTH calls the field the subject name,
  // tls_client_auth_subject_dn), so none of them names or proves anything (inferred: as strict as any
  // reading Event Grid may have).
  subjectNames: (certificate) => (certificate.commonNames.length === 1 ? certificate.commonNames : []),
  // A3: each scheme reads its own field, and only that one.
  schemeValues: (scheme, certificate, subjectNames) => FIELD_OF_SOURCE[SCHEME_SOURCE[scheme]](certificate, subjectNames),
  // A3: a value proves the name when it is that name, in any letter case (A4), and nothing else: not a
  // name it starts or ends with, nor one with a trailing space or dot, nor a look-alike or another
  // Unicode normalisation of it (inferred: the docs say only that the field must match).
  proves: (value, authenticationName, sameName) => sameName(value, authenticationName),
};

/** The authentication name of a CONNECT; undefined when configured certificate fields hold none (A5). */
export function authenticationName(
  request: IdentityRequest,
  certificate: PresentedCertificate,
  namespace: NamespaceConfig,
  behaviour: Behaviour,
): AuthenticationName | undefined {
  if (request.username !== undefined) return behaviour.nameOfUsername(request.username, certificate);
  const sources = behaviour.alternativeNameSources(namespace);
  if (!sources.length) return behaviour.nameWithoutUsername(request, certificate);
  // A5: the first configured certificate field that holds a value names the client.
  for (const source of sources) {
    const [name] = FIELD_OF_SOURCE[source](certificate, behaviour.subjectNames);
    if (name) return { name, source };
  }
  return undefined;
}

/** A3: why the certificate does not prove the client's name under its validation scheme, if it does not. */
function schemeFailure(client: ClientResource, certificate: PresentedCertificate, behaviour: IdentityPieces): string | undefined {
  const { validationScheme, allowedThumbprints } = client.clientCertificateAuthentication;
  if (validationScheme === 'ThumbprintMatch') {
    const allowed = allowedThumbprints.some((thumbprint) => thumbprint.toUpperCase() === certificate.thumbprint);
    return allowed ? undefined : `certificate thumbprint is not among client "${client.name}"'s allowed thumbprints`;
  }
  if (!certificate.chainsToRegisteredCa) {
    return `the client certificate does not chain to a CA registered on the namespace${certificate.chainProblem ? ` (${certificate.chainProblem})` : ''}`;
  }
  const values = behaviour.schemeValues(validationScheme, certificate, behaviour.subjectNames);
  if (values.some((value) => behaviour.proves(value, client.authenticationName, behaviour.sameName))) return undefined;
  return `${validationScheme}: the certificate does not carry "${client.authenticationName}" (it has ${values.length ? values.join(', ') : 'none'})`;
}

// A1: mutual TLS with a client certificate comes first.
const CERTIFICATE_PRESENTED: Check<CertificateContext> = {
  name: 'a client certificate is presented',
  rule: 'A1',
  run: (context) => (context.request.certificate ? undefined : refuse('A1', 'no client certificate was presented')),
};

const CERTIFICATE_USABLE: Check<CertificateContext> = {
  name: 'the certificate is in its validity period and allows client authentication',
  rule: 'A1',
  run: ({ certificate, now }) => {
    if (now < certificate.notBefore) return refuse('A1', 'the client certificate is not yet valid');
    if (now > certificate.notAfter) return refuse('A1', 'the client certificate has expired');
    if (!certificate.clientAuthAllowed) return refuse('A1', 'the client certificate is not for client authentication (no clientAuth usage)');
    return undefined;
  },
};

// A1: no namespace accepts a CA certificate, or a weak key or signature, as a client certificate
// (reference/certificate.ts says which), whatever the client's validation scheme.
const CERTIFICATE_STRONG: Check<CertificateContext> = {
  name: 'the certificate is not a CA certificate and has a strong key and signature',
  rule: 'A1',
  run: ({ certificate }) => (certificate.unacceptable ? refuse('A1', certificate.unacceptable) : undefined),
};

const NAME_FOUND: Check<CertificateContext> = {
  name: 'a configured certificate field names the client',
  rule: 'A5',
  run: (context) =>
    context.authenticationName ? undefined : refuse('A5', 'no Username, and none of the configured certificate fields holds a name'),
};

// A4: an authentication name is at least 1 character: an empty Username names nobody. (One past 128
// characters is L6's, refused before: reference/name-checks.ts.)
const NAME_NOT_EMPTY: Check<CertificateContext> = {
  name: 'the authentication name is not empty',
  rule: 'A4',
  run: (context) => (context.authenticationName?.name === '' ? refuse('A4', 'the Username (authentication name) is empty') : undefined),
};

// A2: only registered, enabled clients.
const CLIENT_REGISTERED: Check<CertificateContext> = {
  name: 'a client is registered with the authentication name',
  rule: 'A2',
  run: (context) =>
    context.client ? undefined : refuse('A2', `no client is registered with authentication name "${context.authenticationName?.name}"`, 'unregistered'),
};

const CLIENT_ENABLED: Check<CertificateContext> = {
  name: 'the client is enabled',
  rule: 'A2',
  run: ({ registeredClient: client }) =>
    client.state === 'Disabled' ? refuse('A2', `client "${client.name}" is registered Disabled`, 'disabled') : undefined,
};

const NAME_PROVEN: Check<CertificateContext> = {
  name: "the certificate proves the name under the client's validation scheme",
  rule: 'A3',
  run: ({ registeredClient, certificate, behaviour }) => {
    const failure = schemeFailure(registeredClient, certificate, behaviour);
    return failure ? refuse('A3', failure) : undefined;
  },
};

/** A1-A5, in order: the first refusal is the authentication's. */
export const CERTIFICATE_CHECKS: readonly Check<CertificateContext>[] = [
  CERTIFICATE_PRESENTED,
  CERTIFICATE_USABLE,
  CERTIFICATE_STRONG,
  NAME_FOUND,
  NAME_NOT_EMPTY,
  CLIENT_REGISTERED,
  CLIENT_ENABLED,
  NAME_PROVEN,
];

/** One CONNECT as the certificate checks see it: what they work out from it, each once. */
class CertificateCheckContext implements CertificateContext {
  private readonly known = new Map<string, unknown>();

  constructor(
    readonly request: IdentityRequest,
    readonly now: Date,
    readonly namespace: NamespaceConfig,
    readonly behaviour: Behaviour,
  ) {}

  private once<T>(key: string, work: () => T): T {
    if (!this.known.has(key)) this.known.set(key, work());
    return this.known.get(key) as T;
  }

  get certificate(): PresentedCertificate {
    if (!this.request.certificate) throw new Error('no client certificate: the A1 check must come before this one');
    return this.request.certificate;
  }

  get authenticationName(): AuthenticationName | undefined {
    return this.once('name', () => authenticationName(this.request, this.certificate, this.namespace, this.behaviour));
  }

  get client(): ClientResource | undefined {
    return this.once('client', () => {
      const named = this.authenticationName;
      return named && this.namespace.clients.find((candidate) => this.behaviour.sameName(candidate.authenticationName, named.name));
    });
  }

  get registeredClient(): ClientResource {
    const client = this.client;
    if (!client) throw new Error('no registered client: the A2 check must come before this one');
    return client;
  }
}

/** What a CONNECT's names and certificate prove under Behaviour's certificate checks. */
export function authenticateByCertificate(request: IdentityRequest, now: Date, namespace: NamespaceConfig, behaviour: Behaviour): Authentication {
  const context = new CertificateCheckContext(request, now, namespace, behaviour);
  const refusal = firstRefusal(behaviour.certificateChecks, context);
  if (refusal) return { refusal };
  return { identity: { client: context.registeredClient, nameSource: context.authenticationName!.source } };
}

const without = (check: Check<CertificateContext>) => (behaviour: Behaviour): Behaviour => ({
  ...behaviour,
  certificateChecks: withoutCheck(behaviour.certificateChecks, check),
});

const AUTHENTICATION_RULES = new Set<RuleId>(['A1', 'A2', 'A3', 'A5']);

export const IDENTITY_MUTANTS: readonly Mutant[] = [
  {
    rule: 'S3',
    breaks: 'without a Username the certificate CN names the client, so several sessions are possible',
    apply: (behaviour) => ({
      ...behaviour,
      nameWithoutUsername: (request, certificate) => {
        const [commonName] = behaviour.subjectNames(certificate);
        return commonName ? { name: commonName, source: 'ClientCertificateSubject' } : behaviour.nameWithoutUsername(request, certificate);
      },
    }),
  },
  { rule: 'A1', breaks: "the certificate's validity period and key usage are not checked", apply: without(CERTIFICATE_USABLE) },
  { rule: 'A2', breaks: 'clients registered Disabled are accepted', apply: without(CLIENT_ENABLED) },
  { rule: 'A3', breaks: 'the validation scheme is ignored: any certificate proves any name', apply: without(NAME_PROVEN) },
  {
    id: 'A3.any-field',
    rule: 'A3',
    breaks: "the name may be in any certificate field (subject CN, DNS, URI, IP, email), not only the scheme's",
    apply: (behaviour) => ({
      ...behaviour,
      schemeValues: (_scheme, certificate, subjectNames) => Object.values(FIELD_OF_SOURCE).flatMap((field) => field(certificate, subjectNames)),
    }),
  },
  {
    id: 'S1.username-ignored',
    rule: 'S1',
    breaks: "the Username is ignored: the certificate's subject CN names the client (as mosquitto's use_identity_as_username)",
    onlyUnder: { methods: ['certificate'], why: 'a token or the webhook names its client whatever the Username (T1, W1, E1): what this mutant reads instead, a certificate, is not there' },
    apply: (behaviour) => ({
      ...behaviour,
      nameOfUsername: (_username, certificate) => ({ name: behaviour.subjectNames(certificate)[0] ?? '', source: 'ClientCertificateSubject' }),
    }),
  },
  {
    id: 'A3.last-cn',
    rule: 'A3',
    breaks: "the subject's last CN is its name, whatever CNs come before it (as Go's crypto/x509 reads CommonName): a subject CN=someone-else, CN=alpha proves and, with no Username, names alpha",
    apply: (behaviour) => ({ ...behaviour, subjectNames: (certificate) => certificate.commonNames.slice(-1) }),
  },
  {
    id: 'A3.prefix',
    rule: 'A3',
    breaks: 'a certificate value proves any name it starts with, or that starts with it (a certificate for "alphabet" proves "alpha", and one for "alpha" proves "alphabet")',
    apply: (behaviour) => ({
      ...behaviour,
      proves: (value, name) => {
        const [a, b] = [value.toLowerCase(), name.toLowerCase()];
        return a.length > 0 && b.length > 0 && (a.startsWith(b) || b.startsWith(a));
      },
    }),
  },
  { rule: 'A4', breaks: 'authentication names compare case-sensitively', apply: (behaviour) => ({ ...behaviour, sameName: (a, b) => a === b }) },
  {
    rule: 'A5',
    breaks: 'configured alternative name sources are ignored: with no Username the ClientID names the client',
    apply: (behaviour) => ({ ...behaviour, alternativeNameSources: () => [] }),
  },
  {
    rule: 'A6',
    breaks: 'a failed authentication closes the connection with no CONNACK',
    apply: (behaviour) => ({ ...behaviour, answerRefusal: (refusal) => (AUTHENTICATION_RULES.has(refusal.rule) ? 'close' : 'connack') }),
  },
];
