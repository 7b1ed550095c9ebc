// Where the broker reports sessions connecting and disconnecting (L4): Event Grid's client life cycle
// events. The adapter that emits them as CloudEvents is adapters/lifecycle-events.ts.

/** The documented disconnection reasons (the reference produces the ones it can observe). */
export type DisconnectionReason =
  | 'ClientAuthenticationError'
  | 'ClientAuthorizationError'
  | 'ClientError'
  | 'ClientInitiatedDisconnect'
  | 'ConnectionLost'
  | 'IpForbidden'
  | 'QuotaExceeded'
  | 'ServerError'
  | 'ServerInitiatedDisconnect'
  | 'SessionOverflow'
  | 'SessionTakenOver';

export interface SessionRef {
  authenticationName: string;
  sessionName: string;
}

export interface EventSink {
  connected(session: SessionRef): void;
  disconnected(session: SessionRef, reason: DisconnectionReason): void;
  /** The session ended: a later session of that name starts its events afresh. */
  forget(sessionName: string): void;
}
