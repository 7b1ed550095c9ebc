// How a CONNECT proves who sent it: an authenticator reads the credentials a connection presented (a
// client certificate, adapters/certificate/; a token, adapters/token/) and answers with the
// registered client they prove, or the refusal and the rule it falls under. The CONNECT decision
// (policy/connect.ts) takes the answer as data.
import type { Authentication } from '../policy/behaviour.ts';
import type { Connection } from './listener.ts';

/** What a CONNECT presented: its names, its credentials, and the connection it came over. */
export interface ConnectAttempt {
  clientId: string;
  username?: string;
  protocolVersion: 4 | 5;
  /** MQTT 5 CONNECT Authentication Method and Data (a token's method and the token). */
  authenticationMethod?: string;
  authenticationData?: Buffer;
  password?: Buffer;
  connection: Connection;
}

export interface Authenticator {
  /** A token's signature check may take a turn of the event loop (a JOSE library's verify is async). */
  authenticate(attempt: ConnectAttempt, now: Date): Authentication | Promise<Authentication>;
}
