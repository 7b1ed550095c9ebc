// Which authenticator judges a CONNECT: a token's (adapters/token/) when the CONNECT names an MQTT 5
// Authentication Method the namespace takes tokens under, or is an MQTT 3.1.1 one with a password and no
// client certificate on a namespace without a webhook (so that T6 refuses it as a token over 3.1.1, not
// A1 as a missing certificate); else the webhook's (adapters/webhook/) when the namespace has one: it is
// sent everything else; else the certificate's.
import { CUSTOM_JWT } from '../policy/token.ts';
import type { Authentication } from '../policy/behaviour.ts';
import type { Authenticator, ConnectAttempt } from '../ports/authenticator.ts';

export interface MethodAuthenticators {
  certificate: Authenticator;
  token: Authenticator;
  /** The namespace's webhook, when it has one. */
  webhook?: Authenticator;
}

export class AuthenticationMethods implements Authenticator {
  constructor(private readonly methods: MethodAuthenticators) {}

  authenticate(attempt: ConnectAttempt, now: Date): Authentication | Promise<Authentication> {
    const { certificate, token, webhook } = this.methods;
    if (this.presentsToken(attempt)) return token.authenticate(attempt, now);
    return (webhook ?? certificate).authenticate(attempt, now);
  }

  private presentsToken({ protocolVersion, authenticationMethod, password, connection }: ConnectAttempt): boolean {
    if (this.methods.webhook) return protocolVersion === 5 && authenticationMethod === CUSTOM_JWT;
    if (protocolVersion === 5) return authenticationMethod !== undefined;
    return password !== undefined && !connection.tls.getPeerCertificate()?.raw;
  }
}
