// Which authenticator judges a CONNECT: an Entra ID token's (adapters/token/, E1) when the CONNECT names
// OAUTH2-JWT and the namespace takes those; a custom token's (adapters/token/) when the CONNECT names an MQTT 5
// Authentication Method the namespace takes tokens under, or is an MQTT 3.1.1 one with a password and no
// client certificate on a namespace without a webhook (so that T6 refuses it as a token over 3.1.1, not
// A1 as a missing certificate); else the webhook's (adapters/webhook/) when the namespace has one: it is
// sent everything else; else the certificate's.
import { CUSTOM_JWT, OAUTH2_JWT } from '../policy/token.ts';
import type { Authentication } from '../policy/behaviour.ts';
import type { Authenticator, ConnectAttempt } from '../ports/authenticator.ts';

export interface MethodAuthenticators {
  certificate: Authenticator;
  /** Custom JWTs, and tokens under any method the namespace has no authenticator of its own for (refused for it). */
  token: Authenticator;
  /** Microsoft Entra ID tokens (OAUTH2-JWT), when the namespace takes them. */
  entra?: Authenticator;
  /** The namespace's webhook, when it has one. */
  webhook?: Authenticator;
}

export class AuthenticationMethods implements Authenticator {
  constructor(private readonly methods: MethodAuthenticators) {}

  authenticate(attempt: ConnectAttempt, now: Date): Authentication | Promise<Authentication> {
    const { certificate, token, entra, webhook } = this.methods;
    if (entra && attempt.protocolVersion === 5 && attempt.authenticationMethod === OAUTH2_JWT) return entra.authenticate(attempt, now);
    if (this.presentsToken(attempt)) return token.authenticate(attempt, now);
    return (webhook ?? certificate).authenticate(attempt, now);
  }

  private presentsToken({ protocolVersion, authenticationMethod, password, connection }: ConnectAttempt): boolean {
    if (this.methods.webhook) return protocolVersion === 5 && authenticationMethod === CUSTOM_JWT;
    if (protocolVersion === 5) return authenticationMethod !== undefined;
    return password !== undefined && !connection.tls.getPeerCertificate()?.raw;
  }
}
