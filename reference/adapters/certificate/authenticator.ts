// The certificate authenticator (reference/ports/authenticator.ts): the client certificate of the
// connection's TLS session, judged by the policy's certificate checks (A1-A5, policy/identity.ts).
import { X509Certificate } from 'node:crypto';
import type { NamespaceConfig } from '../../../eventgrid/namespace.ts';
import type { Authentication, Behaviour } from '../../policy/behaviour.ts';
import { authenticateByCertificate } from '../../policy/identity.ts';
import type { Authenticator, ConnectAttempt } from '../../ports/authenticator.ts';
import { PeerCertificateReader } from './peer-certificate.ts';

export class CertificateAuthenticator implements Authenticator {
  private readonly certificates: PeerCertificateReader;

  constructor(
    private readonly namespace: NamespaceConfig,
    private readonly behaviour: Behaviour,
  ) {
    this.certificates = new PeerCertificateReader(namespace.caCertificates.map((ca) => new X509Certificate(ca.encodedCertificate)));
  }

  authenticate({ clientId, username, connection }: ConnectAttempt, now: Date): Authentication {
    const certificate = this.certificates.read(connection.tls, now);
    return authenticateByCertificate({ clientId, username, certificate }, now, this.namespace, this.behaviour);
  }
}
