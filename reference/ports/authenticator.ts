// How a CONNECT proves who sent it: an authenticator reads the credentials a connection presented (a
// client certificate today, adapters/certificate/; tokens and webhooks next) and answers with the
// registered client they prove, or the refusal and the rule it falls under. The CONNECT decision
// (policy/connect.ts) takes the answer as data.
import type { Authentication } from '../policy/behaviour.ts';
import type { Connection } from './listener.ts';

/** What a CONNECT presented: its names, and the connection it came over. */
export interface ConnectAttempt {
  clientId: string;
  username?: string;
  connection: Connection;
}

export interface Authenticator {
  authenticate(attempt: ConnectAttempt, now: Date): Authentication;
}
