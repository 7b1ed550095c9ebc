// A token-authenticated connection's life on aedes (T7, T8): an AUTH packet of reason 0x19 with a fresh
// token re-authenticates it, answered with AUTH 0x00 and its expiry moved on; an AUTH that does not
// (a bad token, another client, another reason) ends it; so does its token's expiry, unrenewed. Either
// ending is a DISCONNECT 0x87 carrying why, and the life cycle reason ClientAuthenticationError. aedes
// has no enhanced authentication: the namespace adapter hands every AUTH packet here before aedes sees it.
// A connection whose registered client is disabled or given other credentials is ended the same way (A7),
// and one moved into or out of a client group, with the life cycle reason ClientAuthorizationError (P5).
import type { Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { ClientResource } from '../../../eventgrid/namespace.ts';
import { REFUSAL } from '../../../rules/codes.ts';
import type { ClientChangeEnding, Identity, TokenPieces } from '../../policy/behaviour.ts';
import type { Refusal } from '../../policy/refusal.ts';
import { refuse } from '../../policy/refusal.ts';
import type { Authenticator } from '../../ports/authenticator.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Connection as Transport } from '../../ports/listener.ts';
import { bounded, MAX_REASON_LENGTH, shownName } from '../bounded-text.ts';

/** An AUTH packet as mqtt-packet decodes it. */
export interface AuthPacket {
  cmd: 'auth';
  reasonCode?: number;
  properties?: { authenticationMethod?: string; authenticationData?: Buffer };
}

export interface TokenLifetimeOptions {
  authenticator: Authenticator;
  pieces: Pick<TokenPieces, 'reauthenticationFailure' | 'endsAtTokenExpiry'>;
  clock: Clock;
  log: (line: string) => void;
}

interface TokenConnection {
  /** The CONNECT's Authentication Method; undefined for credentials with an expiry and no method (a webhook's decision). */
  method?: string;
  client: ClientResource;
  username?: string;
  transport: Transport;
  expiresAt?: number;
  timer?: NodeJS.Timeout;
}

/** The longest a timer may wait (setTimeout's limit); a later expiry is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class TokenLifetimes {
  private readonly connections = new WeakMap<Client, TokenConnection>();
  /** Connections this module ended, with their life cycle reason: ClientAuthenticationError unless a client change said otherwise (P5). */
  private readonly ended = new WeakMap<Client, ClientChangeEnding['lifecycleReason']>();

  constructor(private readonly options: TokenLifetimeOptions) {}

  /** A CONNECT was accepted on the token `method` for `identity` (before its CONNACK). */
  accepted(client: Client, method: string | undefined, identity: Identity, username: string | undefined, transport: Transport): void {
    this.connections.set(client, { method, client: identity.client, username, transport, expiresAt: identity.expiresAt });
  }

  /** The session is connected: its token's expiry now ends it (T8). */
  started(client: Client): void {
    const connection = this.connections.get(client);
    if (connection) this.schedule(client, connection);
  }

  closed(client: Client | undefined): void {
    if (client) clearTimeout(this.connections.get(client)?.timer);
  }

  /** The life cycle reason of a connection this module ended; undefined for any other. */
  endReason(client: Client | undefined): ClientChangeEnding['lifecycleReason'] | undefined {
    return client && this.ended.get(client);
  }

  /** An AUTH packet the client sent after its CONNECT (the caller keeps it from aedes). */
  handle(client: Client, packet: AuthPacket): void {
    const connection = this.connections.get(client);
    if (!connection?.method) {
      // No Authentication Method in the CONNECT: an AUTH is a protocol error (MQTT 5 4.12).
      this.end(client, { rule: 'T7', code: REFUSAL.protocolError, reason: 'an AUTH packet on a connection that did not authenticate with a token' });
      return;
    }
    void this.reauthenticate(client, connection as TokenConnection & { method: string }, packet);
  }

  private async reauthenticate(client: Client, connection: TokenConnection & { method: string }, packet: AuthPacket): Promise<void> {
    const method = packet.properties?.authenticationMethod;
    const now = this.options.clock();
    const authentication =
      method === connection.method
        ? await this.options.authenticator.authenticate(
            { clientId: client.id, username: connection.username, protocolVersion: 5, authenticationMethod: method, authenticationData: packet.properties?.authenticationData, connection: connection.transport },
            new Date(now),
          )
        : { refusal: refuse('T7', `the AUTH packet's Authentication Method ${method === undefined ? 'is missing' : `"${method}"`}, not the CONNECT's "${connection.method}"`) };
    if (client.closed) return;
    const failure = this.options.pieces.reauthenticationFailure(connection.client, packet.reasonCode, authentication);
    if (failure) {
      this.end(client, failure);
      return;
    }
    // A mutated broker may keep a connection whose new token proves nothing: its expiry stays.
    if (authentication.identity) connection.expiresAt = authentication.identity.expiresAt;
    this.schedule(client, connection);
    this.options.log(`session "${shownName(client.id)}" re-authenticated [T7]`);
    client.conn.write(mqttPacket.generate({ cmd: 'auth', reasonCode: 0, properties: { authenticationMethod: connection.method } }, { protocolVersion: 5 }));
  }

  private schedule(client: Client, connection: TokenConnection): void {
    clearTimeout(connection.timer);
    if (connection.expiresAt === undefined || !this.options.pieces.endsAtTokenExpiry) return;
    const delay = Math.max(connection.expiresAt - this.options.clock(), 0);
    connection.timer = setTimeout(() => {
      if (this.options.clock() < connection.expiresAt!) this.schedule(client, connection);
      else this.end(client, refuse('T8', connection.method ? 'the token expired without re-authentication' : "the webhook's decision expired"));
    }, Math.min(delay, MAX_TIMER_MS));
    connection.timer.unref();
  }

  /**
   * Ends a connection whose client changed (A7: disabled or given other credentials, P5: other client
   * groups), as an expired token's is ended, with the change's life cycle reason.
   */
  revoke(client: Client, refusal: Refusal, lifecycleReason: ClientChangeEnding['lifecycleReason']): void {
    this.end(client, refusal, lifecycleReason);
  }

  /** Ends the connection with a DISCONNECT carrying the refusal's code and why (a connection not yet ready is closed). */
  private end(client: Client, refusal: Refusal, lifecycleReason: ClientChangeEnding['lifecycleReason'] = 'ClientAuthenticationError'): void {
    if (client.closed) return;
    this.ended.set(client, lifecycleReason);
    clearTimeout(this.connections.get(client)?.timer);
    const reasonString = bounded(refusal.reason, MAX_REASON_LENGTH);
    this.options.log(`ending session "${shownName(client.id ?? '')}" [${refusal.rule}]: ${reasonString}`);
    const reasonCode = refusal.code.reasonCode;
    if (client.connected) {
      client.disconnect({ reasonCode, properties: { reasonString } });
      return;
    }
    const socket = client.conn;
    socket.write(mqttPacket.generate({ cmd: 'disconnect', reasonCode, properties: { reasonString } }, { protocolVersion: 5 }), () => socket.destroy());
  }
}
