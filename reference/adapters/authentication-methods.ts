// Which authenticator judges a CONNECT: a token's (adapters/token/) when the CONNECT names an MQTT 5
// Authentication Method, or is an MQTT 3.1.1 one with a password and no client certificate (so that
// T6 refuses it as a token over 3.1.1, not A1 as a missing certificate); else the certificate's.
import type { Authentication } from '../policy/behaviour.ts';
import type { Authenticator, ConnectAttempt } from '../ports/authenticator.ts';

export class AuthenticationMethods implements Authenticator {
  constructor(
    private readonly certificate: Authenticator,
    private readonly token: Authenticator,
  ) {}

  authenticate(attempt: ConnectAttempt, now: Date): Authentication | Promise<Authentication> {
    return this.presentsToken(attempt) ? this.token.authenticate(attempt, now) : this.certificate.authenticate(attempt, now);
  }

  private presentsToken({ protocolVersion, authenticationMethod, password, connection }: ConnectAttempt): boolean {
    if (protocolVersion === 5) return authenticationMethod !== undefined;
    return password !== undefined && !connection.tls.getPeerCertificate()?.raw;
  }
}
