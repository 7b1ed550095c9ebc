// Who is connecting: the authentication name (Username, else certificate fields, else the ClientID),
// the registered client it names, and whether the certificate proves it under the client's scheme.
import type { RuleId } from '../rules/catalogue.ts';
import { REFUSAL, type RefusalCode } from '../rules/codes.ts';
import type { PresentedCertificate } from './certificate.ts';
import type { AuthenticationNameSource } from '../eventgrid/authentication.ts';
import type { ClientResource, NamespaceConfig } from '../eventgrid/namespace.ts';

export interface Refusal {
  rule: RuleId;
  code: RefusalCode;
  reason: string;
}

export interface Identity {
  client: ClientResource;
  /** Where the authentication name came from: "username", a certificate field, or "clientId". */
  nameSource: string;
}

export type IdentityResult = { ok: true; identity: Identity } | { ok: false; refusal: Refusal };

export interface IdentityRequest {
  clientId: string;
  username?: string;
  certificate?: PresentedCertificate;
}

const FIELD_OF_SOURCE: Record<AuthenticationNameSource, (c: PresentedCertificate) => string[]> = {
  ClientCertificateSubject: (c) => (c.commonName ? [c.commonName] : []),
  ClientCertificateDns: (c) => c.dns,
  ClientCertificateUri: (c) => c.uri,
  ClientCertificateIp: (c) => c.ip,
  ClientCertificateEmail: (c) => c.email,
};

const SCHEME_FIELD: Record<string, (c: PresentedCertificate) => string[]> = {
  SubjectMatchesAuthenticationName: FIELD_OF_SOURCE.ClientCertificateSubject,
  DnsMatchesAuthenticationName: FIELD_OF_SOURCE.ClientCertificateDns,
  UriMatchesAuthenticationName: FIELD_OF_SOURCE.ClientCertificateUri,
  IpMatchesAuthenticationName: FIELD_OF_SOURCE.ClientCertificateIp,
  EmailMatchesAuthenticationName: FIELD_OF_SOURCE.ClientCertificateEmail,
};

const refuse = (rule: RuleId, code: RefusalCode, reason: string): IdentityResult => ({
  ok: false,
  refusal: { rule, code, reason },
});

export class IdentityResolver {
  constructor(
    private readonly namespace: NamespaceConfig,
    private readonly broken: ReadonlySet<RuleId> = new Set(),
  ) {}

  /** A4: names compare without regard to case. */
  private sameName(a: string, b: string): boolean {
    return this.broken.has('A4') ? a === b : a.toLowerCase() === b.toLowerCase();
  }

  private authenticationName(request: IdentityRequest, certificate: PresentedCertificate): [string, string] | undefined {
    if (request.username) return [request.username, 'username'];
    const sources = this.namespace.topicSpacesConfiguration.clientAuthentication.alternativeAuthenticationNameSources;
    if (sources.length && !this.broken.has('A5')) {
      // A5: the first configured certificate field that holds a value names the client.
      for (const source of sources) {
        const [name] = FIELD_OF_SOURCE[source](certificate);
        if (name) return [name, source];
      }
      return undefined;
    }
    // S3: with no Username, the ClientID doubles as the authentication name (one session only).
    if (this.broken.has('S3') && certificate.commonName) return [certificate.commonName, 'ClientCertificateSubject'];
    return [request.clientId, 'clientId'];
  }

  resolve(request: IdentityRequest, now: Date): IdentityResult {
    const certificate = request.certificate;
    // A1: mutual TLS with a client certificate comes first.
    if (!certificate) return refuse('A1', REFUSAL.badUserNameOrPassword, 'no client certificate was presented');
    if (!this.broken.has('A1')) {
      if (now < certificate.notBefore) return refuse('A1', REFUSAL.badUserNameOrPassword, 'the client certificate is not yet valid');
      if (now > certificate.notAfter) return refuse('A1', REFUSAL.badUserNameOrPassword, 'the client certificate has expired');
      if (!certificate.clientAuthAllowed) {
        return refuse('A1', REFUSAL.badUserNameOrPassword, 'the client certificate is not for client authentication (no clientAuth usage)');
      }
      if (certificate.unacceptable) return refuse('A1', REFUSAL.badUserNameOrPassword, certificate.unacceptable);
    }

    const named = this.authenticationName(request, certificate);
    if (!named) {
      return refuse('A5', REFUSAL.badUserNameOrPassword, 'no Username, and none of the configured certificate fields holds a name');
    }
    const [name, nameSource] = named;
    const client = this.namespace.clients.find((candidate) => this.sameName(candidate.authenticationName, name));
    // A2: only registered, enabled clients.
    if (!client) return refuse('A2', REFUSAL.badUserNameOrPassword, `no client is registered with authentication name "${name}"`);
    if (client.state === 'Disabled' && !this.broken.has('A2')) {
      return refuse('A2', REFUSAL.notAuthorized, `client "${client.name}" is registered Disabled`);
    }
    if (!this.broken.has('A3')) {
      const failure = this.schemeFailure(client, certificate);
      if (failure) return refuse('A3', REFUSAL.badUserNameOrPassword, failure);
    }
    return { ok: true, identity: { client, nameSource } };
  }

  /** A3: why the certificate does not prove the client's name under its validation scheme, if it does not. */
  private schemeFailure(client: ClientResource, certificate: PresentedCertificate): string | undefined {
    const { validationScheme, allowedThumbprints } = client.clientCertificateAuthentication;
    if (validationScheme === 'ThumbprintMatch') {
      const allowed = allowedThumbprints.some((thumbprint) => thumbprint.toUpperCase() === certificate.thumbprint);
      return allowed ? undefined : `certificate thumbprint is not among client "${client.name}"'s allowed thumbprints`;
    }
    if (!certificate.chainsToRegisteredCa) {
      return `the client certificate does not chain to a CA registered on the namespace${certificate.chainProblem ? ` (${certificate.chainProblem})` : ''}`;
    }
    const values = SCHEME_FIELD[validationScheme]!(certificate);
    if (values.some((value) => this.sameName(value, client.authenticationName))) return undefined;
    return `${validationScheme}: the certificate does not carry "${client.authenticationName}" (it has ${values.length ? values.join(', ') : 'none'})`;
  }
}
