// The thin layer between aedes and the namespace's rules: it turns each CONNECT into an authenticator's
// answer and a ConnectRequest, the policy's Decision into packets, and connection ends and expiries
// into session store updates, persistence wipes and life cycle events. What it needs of aedes beyond
// its hooks is in aedes-internals.ts.
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Aedes, Client, ConnectPacket, PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { ClientResource } from '../../../eventgrid/namespace.ts';
import { describeRefusalCode, refusalCodeFor } from '../../../rules/codes.ts';
import type { Authentication, ClientChangeEnding, DecodedPacket, PacketContext, PropertyScan, SessionGrant } from '../../policy/behaviour.ts';
import { firstRefusal, type Check } from '../../policy/check.ts';
import type { ConnectPolicy } from '../../policy/connect.ts';
import { mergeScans, scanProperties, willPublishProperties, withoutRepeatedProperties } from '../../policy/packet-validation.ts';
import type { Refusal, RefusalAnswer } from '../../policy/refusal.ts';
import type { SessionRecord } from '../../policy/session-record.ts';
import type { Authenticator } from '../../ports/authenticator.ts';
import type { Clock } from '../../ports/clock.ts';
import type { DisconnectionReason, EventSink } from '../../ports/event-sink.ts';
import type { Connection as Transport } from '../../ports/listener.ts';
import type { SessionStore, SessionView, SharedStateWipe } from '../../ports/session-store.ts';
import type { TakeoverAnswer, Takeovers } from '../../ports/takeovers.ts';
import { bounded, MAX_REASON_LENGTH, shownName } from '../bounded-text.ts';
import { announceShutdown, connackSent, deliverQueueOnResume, disconnectOversizedFromConnack, endedWithDisconnect, expiryAtEnd, guardAgainstStaleClients, markRedeliveries, nextPacketId, numberPacketsFrom, parserOf, persistenceOf, replayIncoming, SessionDeliveries, takeIncoming, type QueuedPacket } from './aedes-internals.ts';
import type { LimitEnforcement } from './limit-enforcement.ts';
import { readPropertySections } from './mqtt-packet-internals.ts';
import { OutgoingPackets } from './outgoing-packets.ts';
import { rawNames } from './raw-connect.ts';
import type { AuthPacket, TokenLifetimes } from './token-lifetimes.ts';

/** How long a connection closed after its DISCONNECT waits for the client to close its side. */
const LINGER_MS = 2000;

/**
 * When aedes next destroys this stream (with no error), it is ended instead: the client gets what was
 * written (a DISCONNECT) and then the end, and what it still sends (PUBACKs in flight) is read and
 * dropped until it closes its side, or for LINGER_MS. A socket destroyed with unread bytes in it is
 * reset, and a busy client can lose the DISCONNECT that came just before the reset. Once it is ending,
 * a later destroy with an error waits for the end too: aedes destroys the stream again, with an error,
 * when a delivery that was on its way before the close comes to be written after it. (Node destroys it,
 * with none, once the client has closed its side.)
 */
function closeGracefully(stream: Duplex): void {
  const destroy = stream.destroy.bind(stream);
  stream.destroy = ((error?: Error) => {
    if (error || stream.destroyed) {
      stream.destroy = destroy;
      return destroy(error);
    }
    stream.destroy = ((later?: Error) => (later ? stream : destroy())) as Duplex['destroy'];
    const timer = setTimeout(() => destroy(), LINGER_MS);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
    stream.on('data', () => {});
    stream.end();
    return stream;
  }) as Duplex['destroy'];
}

interface Connection {
  id: number;
  /** What the listener handed over: the MQTT stream aedes reads, and the TLS session it came over. */
  transport: Transport;
  client?: Client;
  grant?: SessionGrant;
  /** The record the grant replaced, put back if aedes never completes this connection. */
  replaced?: SessionRecord;
  /** The accepting CONNACK is sent (the client registered): the session is connected (life cycle events). */
  ready: boolean;
  /** The accepting CONNACK is written to the connection (aedes marks it sent a turn later: `ready`). */
  answered?: boolean;
  /** An MQTT 5 CONNECT resumes a session it gives no expiry (0): the session's queue is still delivered (L2). */
  resumesEphemeral?: boolean;
  /**
   * It took the session over from a connection at another instance that did not answer for it: that
   * connection may have been sent any queued message, so every one is resent with DUP=1.
   */
  unconfirmedTakeover?: boolean;
  /** The session claimed for it. */
  claimed?: string;
  /** Resolves once the connection is closed. */
  closed: Promise<void>;
  /** Resolves once the session store took its end: how its session ended with it (held, or ended: expiry 0). */
  ended: Promise<'held' | 'ended'>;
  endedAs: (ending: 'held' | 'ended') => void;
}

/** How long an instance remembers how a connection ended, for a takeover at another instance that asks. */
const REMEMBER_ENDED_MS = 60_000;

/**
 * The most packets held behind a CONNECT until its CONNACK (as aedes' own queueLimit, by default, for
 * those it would queue): a client that sends more before it is answered is cut off.
 */
const HELD_BEHIND_CONNECT = 42;

type PreConnect = (client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void) => void;

export interface AdapterOptions {
  policy: ConnectPolicy;
  sessions: SessionStore;
  events: EventSink;
  authenticator: Authenticator;
  answerRefusal: RefusalAnswer;
  /** M1: the checks every packet a client sends goes through first (Behaviour's packetChecks). */
  packetChecks: readonly Check<PacketContext>[];
  /** Event Grid's limits (L5-L15) on aedes. */
  limits: LimitEnforcement;
  /** Token-authenticated connections: re-authentication and expiry (T7, T8). */
  tokens: TokenLifetimes;
  /** The authentication name of a registered client (a session record names its owner by resource name). */
  authenticationNameOf: (clientName: string) => string;
  log: (line: string) => void;
  clock: Clock;
  /** This broker's id among the instances sharing the session store (undefined: it is the only one). */
  instance?: string;
  /** S9: sessions per authentication name; a new session's claim conflicts once its owner reached it since the decision. */
  sessionLimit: () => number;
  /** With instances sharing the store: a takeover from a connection at another instance asks it to end that connection first (S8). */
  takeovers?: Takeovers;
  /** With instances sharing aedes' persistence: a session's stored state is wiped by this, in one step. */
  sharedStateWipe?: SharedStateWipe;
}

/**
 * How often one CONNECT decides again when its claim found the sessions changed since it read them
 * (other CONNECTs of the same name or identity won the race each time); then it is closed unanswered.
 */
const CLAIM_ATTEMPTS = 20;

export class AedesNamespaceAdapter {
  private readonly connections = new WeakMap<object, Connection>();
  /** Session names whose aedes state is being wiped; a CONNECT for one waits for it. */
  private readonly wipes = new Map<string, Promise<void>>();
  /** Connections whose session another connection of the same identity took over (S8). */
  private readonly takenOver = new Set<number>();
  /** Per client whose CONNECT is being decided: lets the packets it sent behind the CONNECT go on (screen). */
  private readonly heldBehindConnect = new WeakMap<Client, (accepted: boolean) => void>();
  /** A7, P5: connections whose client changed between their acceptance and their CONNACK: ended once it is sent. */
  private readonly endOnReady = new WeakMap<Connection, ClientChangeEnding>();
  private nextConnectionId = 1;
  /** Connections that claimed a session, until REMEMBER_ENDED_MS after they end: what a takeover at another instance asks about. */
  private readonly claimed = new Map<number, Connection>();
  /** Sessions a connection of this broker holds (from its claim until it ends): the only ones not held offline here. */
  private readonly localSessions = new Map<string, Connection>();
  /** Sessions a connection of another instance of the namespace holds, as their announcements tell (L8 does not count their queues here). */
  private readonly remoteSessions = new Set<string>();
  /** The session store's steps for connections that ended, until each is done (stop waits for them). */
  private readonly settling = new Set<Promise<void>>();
  /** Each QoS 1 message of a persistent session sent once per connection, none lost, across takeovers. */
  private readonly deliveries = new SessionDeliveries((client) => {
    // S8: the connection taken over gets its DISCONNECT 0x8E and nothing after it, and is closed so that the DISCONNECT reaches it.
    OutgoingPackets.of(client.conn).closing();
    closeGracefully(client.conn as unknown as Duplex);
  });
  private broker?: Aedes;
  private stopping = false;
  private sweepTimer?: NodeJS.Timeout;

  constructor(private readonly options: AdapterOptions) {}

  /** CONNECTs whose session name the namespace gave (S4, "assigned"): their CONNACK says it. */
  private readonly assignedNames = new WeakSet<ConnectPacket>();
  /** aedes' authorizeForward hook (pass it to the broker's options). */
  readonly authorizeForward = this.deliveries.authorizeForward;

  attach(broker: Aedes): void {
    this.broker = broker;
    guardAgainstStaleClients(broker);
    markRedeliveries(broker, (client) => this.connections.get(client.conn as object)?.unconfirmedTakeover === true);
    this.deliveries.attach(broker);
    deliverQueueOnResume(broker, (client) => this.connections.get(client.conn as object)?.resumesEphemeral === true);
    disconnectOversizedFromConnack(broker);
    // aedes asks its authorizePublish hook (documented as replaceable) before it publishes a client's
    // will, and before each PUBLISH, which the packet gate has judged already: a will goes out carrying
    // only what a PUBLISH may, its Will Delay Interval left behind (aedes read the delay before, and
    // publishes this very packet). aedes' own check ($SYS topics are its own) still runs.
    const authorize = broker.authorizePublish.bind(broker);
    broker.authorizePublish = (client, packet, callback) => {
      if (packet.properties) packet.properties = willPublishProperties(packet.properties as Record<string, unknown>) as PublishPacket['properties'];
      authorize(client, packet, callback);
    };
    // Connected once the accepting CONNACK is out, not once aedes has resent the session's queue
    // (clientReady): a connection taken over or closed while it resends has started the session.
    // Packets a client sent behind its CONNECT go on in this very event (screen): aedes sets the
    // client's CONNACK mark just after it, so it queues them and handles them once the client is ready,
    // as it does what comes before then.
    broker.on('connackSent', (connack: { reasonCode?: number; returnCode?: number }, client: Client) => {
      const accepted = !connack.reasonCode && !connack.returnCode;
      if (accepted) this.onReady(client);
      const release = this.heldBehindConnect.get(client);
      if (!release) return;
      this.heldBehindConnect.delete(client);
      release(accepted);
    });
  }

  /** Registers a new connection before aedes reads from it. */
  track(transport: Transport): void {
    let closedNow = () => {};
    let endedAs: Connection['endedAs'] = () => {};
    const connection: Connection = {
      id: this.nextConnectionId++,
      transport,
      ready: false,
      closed: new Promise((resolve) => (closedNow = resolve)),
      ended: new Promise((resolve) => (endedAs = resolve)),
      endedAs: (ending) => endedAs(ending),
    };
    this.connections.set(transport.stream, connection);
    // Before anything is written to it: the amendments of its CONNACK and SUBACKs frame its packets from the first byte.
    OutgoingPackets.of(transport.stream);
    transport.stream.once('close', () => {
      closedNow();
      this.onClosed(connection);
    });
  }

  /** The aedes client of a tracked connection, before aedes reads from it. */
  trackClient(client: Client): void {
    this.deliveries.track(client);
  }

  /**
   * Puts protocol validation (M1, Behaviour's packetChecks) in front of everything else that reads this
   * connection's packets: the packet gate and aedes (call after the gate is installed, before any data).
   * A packet that fails never reaches either; its connection is closed.
   *
   * A client may send packets right behind its CONNECT, before the CONNACK (MQTT 5 3.1.4; clients that
   * pipeline put them in the same write). The CONNECT is decided first: the packets behind it are
   * judged as they come, held, and once an accepting CONNACK is out they go on in order through the
   * packet gate and aedes as any later packet does, the first that failed its checks answered as after
   * the CONNACK (MQTT 5: DISCONNECT 0x82). Behind a refused CONNECT they are dropped unprocessed
   * [MQTT-3.1.4-6].
   */
  screen(client: Client): void {
    // The scans of a packet's property sections are all there when the packet is emitted.
    const scans: PropertyScan[] = [];
    readPropertySections(parserOf(client), (section) => scans.push(scanProperties(section)));
    let version: number | undefined;
    let connectSessionExpiry: number | undefined;
    let refused = false;
    /** Packets behind the CONNECT, held until its CONNACK is out; undefined before the CONNECT and once they went on. */
    let held: { packet: DecodedPacket; refusal?: Refusal }[] | undefined;
    /** Held packets handed on: they were judged when they came. */
    const judged = new WeakSet<object>();
    const release = (accepted: boolean) => {
      // Packets that come while these go on join the end of the line.
      for (let next = held?.shift(); next && accepted && !client.closed; next = held?.shift()) {
        if (next.refusal) {
          this.refuseProtocolError(client, next.packet, next.refusal, version, true);
          break;
        }
        judged.add(next.packet);
        replayIncoming(client, next.packet);
      }
      held = undefined;
    };
    takeIncoming(client, (decoded) => {
      const packet = decoded as DecodedPacket;
      if (judged.delete(packet)) return false;
      const scan = mergeScans(scans.splice(0));
      if (refused) return true;
      const refusal = firstRefusal(this.options.packetChecks, { packet, version, connectSessionExpiry, scan });
      if (held) {
        if (held.length >= HELD_BEHIND_CONNECT) {
          refused = true;
          this.options.log(`${client.id ? `client "${shownName(client.id)}"` : 'a connection'} sent more than ${HELD_BEHIND_CONNECT} packets before its CONNACK; closing`);
          client.conn.destroy();
          return true;
        }
        held.push(refusal ? { packet, refusal } : { packet: withoutRepeatedProperties(packet) });
        refused = refusal !== undefined;
        return true;
      }
      if (refusal) {
        refused = true;
        this.refuseProtocolError(client, packet, refusal, version);
        return true;
      }
      withoutRepeatedProperties(packet);
      // aedes has no enhanced authentication: an AUTH packet re-authenticates a token's connection (T7).
      if (packet.cmd === 'auth') {
        this.options.tokens.handle(client, packet as unknown as AuthPacket);
        return true;
      }
      if (packet.cmd === 'connect' && version === undefined) {
        version = packet.protocolVersion;
        connectSessionExpiry = packet.properties?.sessionExpiryInterval as number | undefined;
        held = [];
        this.heldBehindConnect.set(client, release);
      }
      return false;
    });
  }

  private refuseProtocolError(client: Client, packet: DecodedPacket, refusal: Refusal, version: number | undefined, connackOut = connackSent(client)): void {
    const socket = client.conn;
    const who = client.id ? `client "${shownName(client.id)}"` : 'a connection';
    this.options.log(`protocol error from ${who} [${refusal.rule}]: ${bounded(refusal.reason, MAX_REASON_LENGTH)}; closing`);
    const code = refusal.code.reasonCode;
    if (packet.cmd === 'connect' && packet.protocolVersion === 5) {
      void this.sendRefusal(socket, 5, code, refusal.reason).then(() => socket.destroy());
    } else if (version === 5 && client.connected && packet.cmd !== 'disconnect') {
      client.disconnect({ reasonCode: code, properties: { reasonString: bounded(refusal.reason, MAX_REASON_LENGTH) } });
    } else if (version === 5 && connackOut && packet.cmd !== 'disconnect') {
      // Accepted, and aedes still delivering what the session had queued: it is not "connected" yet.
      const disconnect = mqttPacket.generate({ cmd: 'disconnect', reasonCode: code, properties: { reasonString: bounded(refusal.reason, MAX_REASON_LENGTH) } }, { protocolVersion: 5 });
      socket.write(disconnect, () => socket.destroy());
    } else {
      socket.destroy();
    }
  }

  readonly preConnect: PreConnect = (client, packet, callback) => {
    this.decide(client, packet).then(
      (accepted) => callback(accepted ? null : new Error('connection refused'), accepted),
      (error: Error) => callback(error, false),
    );
  };

  private async decide(client: Client, packet: ConnectPacket): Promise<boolean> {
    const socket = client.conn;
    const connection = this.connections.get(socket);
    if (!connection) throw new Error('connection not tracked by the namespace adapter');
    const version = packet.protocolVersion === 5 ? 5 : 4;
    // S4, "assigned" reading: the session gets a name of the namespace's, which aedes then takes as given.
    const assigned = this.options.policy.assignsClientIdentifier(version, packet.clientId);
    if (assigned) {
      packet.clientId = `assigned-${randomUUID()}`;
      this.assignedNames.add(packet);
    }
    const sessionName = packet.clientId;
    // First, as a token's signature check may take a turn: the decision below is made on the session
    // state of its own turn.
    const authenticationMethod = version === 5 ? packet.properties?.authenticationMethod : undefined;
    const authentication = await this.options.authenticator.authenticate(
      {
        clientId: sessionName,
        username: packet.username,
        protocolVersion: version,
        authenticationMethod,
        authenticationData: version === 5 ? packet.properties?.authenticationData : undefined,
        password: packet.password,
        connection: connection.transport,
      },
      new Date(this.options.clock()),
    );
    await this.wipes.get(sessionName);
    if (socket.destroyed) return false;

    const now = new Date(this.options.clock());
    const request = {
      protocolVersion: version,
      clientId: sessionName,
      username: packet.username,
      cleanStart: packet.clean !== false,
      sessionExpiryInterval: packet.properties?.sessionExpiryInterval,
      authentication,
      sentNames: rawNames(packet),
      ...(packet.will ? { will: { topic: packet.will.topic, qos: packet.will.qos ?? 0, retain: packet.will.retain === true } } : {}),
    } as const;
    // Decided on a view of the sessions, and claimed only if that view still stands: else decided again.
    let askedHolder = false;
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt += 1) {
      const view = await this.options.sessions.view(sessionName, authentication.identity?.client.name ?? '', request.cleanStart);
      // A session past its expiry must be gone, state and all, before anyone may use its name.
      if (view.expired) await this.expired(view.expired);
      // Its last session ended (at another instance, or here) and what aedes stored of it is not wiped yet: wiped here first.
      else if (view.unwiped) await this.endSession(sessionName);
      const decision = this.options.policy.decide(request, now, view);
      if (!decision.accept) {
        if (!askedHolder && (await this.heldNoLonger(view, decision.refusal))) {
          askedHolder = true;
          continue;
        }
        return this.refuse(socket, version, sessionName, decision.refusal);
      }
      const { grant } = decision;
      if (grant.discardPrevious) await this.wipe(sessionName, false);
      if (socket.destroyed) return false;
      const claim = await this.options.sessions.claim(view, connection.id, grant.expirySeconds, this.options.sessionLimit());
      if (claim === 'conflict') continue;
      connection.claimed = sessionName;
      if (this.options.takeovers) this.claimed.set(connection.id, connection);
      const settled = await this.endRemoteConnection(client, connection, grant, claim.replaced);
      if (socket.destroyed) {
        // Its close came before it was remembered as claimed, so nothing forgets it but this.
        this.claimed.delete(connection.id);
        await this.options.sessions.abandon(sessionName, connection.id, settled.replaced);
        return false;
      }
      this.accept(client, packet, connection, version, settled.grant, settled.replaced, authentication, authenticationMethod);
      return true;
    }
    this.options.log(`session "${shownName(sessionName)}": the sessions changed under ${CLAIM_ATTEMPTS} decisions in a row; closing the connection`);
    socket.destroy();
    return false;
  }

  /**
   * S6 refuses another identity a session a connection holds. Held by a connection at another instance,
   * that instance is asked first whether its connection still holds it: one that ended on its own (its
   * DISCONNECT read there, its end not yet in the store) no longer does, and the CONNECT is decided again
   * on a fresh view, once. An instance that is gone or silent is not waited for: the refusal stands. Only
   * this refusal pays for the ask; an uncontested CONNECT makes none.
   */
  private async heldNoLonger(view: SessionView, refusal: Refusal): Promise<boolean> {
    const { takeovers, instance } = this.options;
    const holder = view.record;
    if (!takeovers || refusal.rule !== 'S6' || holder?.connectionId === undefined || holder.instance === undefined || holder.instance === instance) return false;
    return (await takeovers.stillHolds(holder.instance, view.name, holder.connectionId)) === false;
  }

  /**
   * A claim that replaced a connection at another instance (S8): that instance is asked to end it, and
   * this CONNECT is answered once it has, as one broker ends the older connection before it answers the
   * newer. Returns the grant as the answer leaves it (a session that had ended there with its
   * connection, expiry 0, is started afresh) and the record to put back should this connection never
   * start.
   */
  private async endRemoteConnection(
    client: Client,
    connection: Connection,
    grant: SessionGrant,
    replaced: SessionRecord | undefined,
  ): Promise<{ grant: SessionGrant; replaced: SessionRecord | undefined }> {
    const { takeovers, instance } = this.options;
    if (!takeovers || replaced?.connectionId === undefined || replaced.instance === undefined || replaced.instance === instance) return { grant, replaced };
    const answer = await takeovers.ask(replaced.instance, grant.sessionName, replaced.connectionId);
    if (!answer) {
      // It may go on sending until it hears of this connection on the fan-out (remoteTakeover).
      connection.unconfirmedTakeover = true;
      this.options.log(`session "${shownName(grant.sessionName)}": instance ${replaced.instance} did not answer for its connection; taking the session over all the same [S8]`);
      return { grant, replaced };
    }
    if (answer.nextPacketId !== undefined) numberPacketsFrom(client, answer.nextPacketId);
    if (answer.ending === 'ended') {
      await this.endSession(grant.sessionName, false);
      return { grant: { ...grant, sessionPresent: false, takesOver: false }, replaced: undefined };
    }
    // That connection is over: should this one never start, the session is held from now.
    const { connectionId: _connection, instance: _instance, ...held } = replaced;
    return { grant, replaced: { ...held, heldSince: this.options.clock() } };
  }

  /**
   * Another instance claimed the session of this instance's connection `connectionId` and asks how it
   * ended (endRemoteConnection there). A live one is taken over: DISCONNECT 0x8E, nothing more sent to
   * it, and closed, before the answer goes. One that ended on its own (a DISCONNECT, a lost connection)
   * is answered once the store took its end, with how its session ended; one not yet answered never
   * starts.
   */
  async endForTakeover(sessionName: string, connectionId: number, from: string): Promise<TakeoverAnswer> {
    // What this turn has read comes first: a DISCONNECT read with the ask is the client's, before the takeover.
    await new Promise((resolve) => setImmediate(resolve));
    const connection = this.claimed.get(connectionId);
    if (!connection || connection.claimed !== sessionName) return { ending: 'held' };
    const { client, transport } = connection;
    if (!connection.answered) {
      // Its CONNACK is not out: it never starts (its claim is no longer its own), and is closed once aedes can register it no more.
      transport.stream.destroy();
      await connection.closed;
      return { ending: 'held' };
    }
    if (!client || client.closed || transport.stream.destroyed || endedWithDisconnect(client)) return { ending: await connection.ended };
    this.takenOver.add(connection.id);
    this.options.log(`session "${shownName(sessionName)}" taken over at instance ${from}: its connection here ends [S8]`);
    this.deliveries.supersede(client, true);
    const next = nextPacketId(client);
    client.close();
    return { ending: 'taken', nextPacketId: next };
  }

  /**
   * Another instance asks, before refusing another identity the session (heldNoLonger there), whether
   * this instance's connection `connectionId` still holds it. One that ended on its own is answered once
   * the store took its end; one whose CONNACK is not out yet still holds it (it may start).
   */
  async stillHolds(sessionName: string, connectionId: number): Promise<boolean> {
    // What this turn has read comes first: a DISCONNECT read with the ask ended the connection before it.
    await new Promise((resolve) => setImmediate(resolve));
    const connection = this.claimed.get(connectionId);
    if (!connection || connection.claimed !== sessionName) return false;
    const { client, transport } = connection;
    if (!connection.answered) return !transport.stream.destroyed;
    if (!client || client.closed || transport.stream.destroyed || endedWithDisconnect(client)) {
      await connection.ended;
      return false;
    }
    return true;
  }

  private async refuse(socket: Client['conn'], version: 4 | 5, sessionName: string, refusal: Refusal): Promise<false> {
    const mqttVersion = version === 5 ? '5' : '3.1.1';
    const shown = refusalCodeFor(mqttVersion, refusal.code);
    // A name past its limit is shown cut short (L5, and any name of a hostile length); a code MQTT 3.1.1 lacks closes the connection (L7).
    this.options.log(
      `refused session "${shownName(sessionName)}" [${refusal.rule}] ${describeRefusalCode(mqttVersion, refusal.code)}: ${bounded(refusal.reason, MAX_REASON_LENGTH)}` +
        (refusal.logDetail ? ` (${refusal.logDetail})` : ''),
    );
    if (shown !== undefined && this.options.answerRefusal(refusal) === 'connack') await this.sendRefusal(socket, version, shown, refusal.reason);
    return false;
  }

  /** The claim holds: the connection has the session; its CONNACK is amended to say what the grant says. */
  private accept(
    client: Client,
    packet: ConnectPacket,
    connection: Connection,
    version: 4 | 5,
    grant: SessionGrant,
    replaced: SessionRecord | undefined,
    authentication: Authentication,
    authenticationMethod: string | undefined,
  ): void {
    const socket = client.conn;
    const { sessionName } = grant;
    this.localSessions.set(sessionName, connection);
    // A connection of another instance is ended by that instance, when this one registers the client (onRemoteTakeover).
    if (replaced?.connectionId !== undefined && replaced.instance === this.options.instance) this.takenOver.add(replaced.connectionId);
    // Session Present 1 with no expiry: the session resumes with its queue, and ends with this connection.
    const resumesEphemeral = version === 5 && grant.sessionPresent && grant.expirySeconds === 0;
    Object.assign(connection, { client, grant, replaced, resumesEphemeral });
    this.options.limits.accepted(client, packet);
    // The method was judged here (T1-T6); aedes, which has no enhanced authentication, would refuse any
    // CONNECT that names one.
    if (authenticationMethod !== undefined) {
      delete packet.properties!.authenticationMethod;
      delete packet.properties!.authenticationData;
    }
    // A token's connection, or one whose webhook decision expires, ends with its credentials (T7, T8).
    if (authenticationMethod !== undefined || authentication.identity?.expiresAt !== undefined) {
      this.options.tokens.accepted(client, authenticationMethod, authentication.identity!, packet.username, connection.transport);
    }
    // aedes derives Session Present from restored subscriptions; a session can exist with none (L2, L3).
    OutgoingPackets.of(socket).amendNext('connack', version, (connack) => {
      if (connack.cmd !== 'connack' || connack.reasonCode || connack.returnCode) return false;
      connection.answered = true;
      connack.sessionPresent = grant.sessionPresent;
      if (this.assignedNames.has(packet)) connack.properties = { ...connack.properties, assignedClientIdentifier: packet.clientId };
      // An accepting CONNACK carries the CONNECT's Authentication Method [MQTT-4.12.0-5].
      if (authenticationMethod !== undefined) connack.properties = { ...connack.properties, authenticationMethod };
      return true;
    });
    this.options.log(
      `accepted session "${shownName(sessionName)}" for client "${grant.client.name}" (name from ${grant.nameSource}; expiry ${grant.expirySeconds} s` +
        `${grant.expiryCapped ? ', capped [L1]' : ''}; session present ${grant.sessionPresent}${grant.takesOver ? '; takes over [S8]' : ''})`,
    );
  }

  /** The registered client an accepted CONNECT of this connection authenticated as (the packet gate's access checks). */
  registeredClientOf(client: Client): ClientResource | undefined {
    return this.connections.get(client.conn as object)?.grant?.client;
  }

  private sendRefusal(socket: Client['conn'], version: 4 | 5, code: number, reason: string): Promise<void> {
    const connack =
      version === 5
        ? { cmd: 'connack' as const, sessionPresent: false, reasonCode: code, properties: { reasonString: bounded(reason, MAX_REASON_LENGTH) } }
        : { cmd: 'connack' as const, sessionPresent: false, returnCode: code };
    const bytes = mqttPacket.generate(connack, { protocolVersion: version });
    // Resolve once the bytes are handed on, so that aedes' close cannot discard them.
    return new Promise((resolve) => socket.write(bytes, () => resolve()));
  }

  private onReady(client: Client): void {
    const connection = this.connections.get(client.conn as object);
    if (!connection?.grant) return;
    connection.ready = true;
    this.options.tokens.started(client);
    this.options.events.connected(this.sessionRef(connection.grant));
    const change = this.endOnReady.get(connection);
    if (change) this.options.tokens.revoke(client, change.refusal, change.lifecycleReason);
  }

  private onClosed(connection: Connection): void {
    if (this.claimed.has(connection.id)) setTimeout(() => this.claimed.delete(connection.id), REMEMBER_ENDED_MS).unref();
    const grant = connection.grant;
    if (!grant) return connection.endedAs('held');
    this.options.tokens.closed(connection.client);
    if (this.localSessions.get(grant.sessionName) === connection) this.localSessions.delete(grant.sessionName);
    const settled = this.settleClosed(connection, grant).catch((error: Error) =>
      this.options.log(`session "${shownName(grant.sessionName)}": the session store did not take the end of its connection: ${error.message}`),
    );
    this.settling.add(settled);
    void settled.finally(() => {
      this.settling.delete(settled);
      // Should the store have failed to take the end, a takeover that asks is still answered.
      connection.endedAs('held');
    });
  }

  /** Resolves once the session store has taken the end of every connection that has ended. */
  async settled(): Promise<void> {
    while (this.settling.size) await Promise.all(this.settling);
  }

  /**
   * Another instance of the namespace registered a connection for this session (aedes announces it on
   * its fan-out, and then closes its own client of that id, without a DISCONNECT): the connection here
   * was taken over (S8). The takeover's ask has ended it already (endForTakeover); one the ask did not
   * reach in time gets DISCONNECT 0x8E (MQTT 5) and nothing after it here.
   */
  remoteTakeover(brokerId: string, sessionName: string): void {
    if (brokerId === this.broker?.id) return;
    this.remoteSessions.add(sessionName);
    this.options.limits.connectedElsewhere(sessionName);
    const connection = this.localSessions.get(sessionName);
    if (!connection?.client || !connection.answered || this.takenOver.has(connection.id)) return;
    this.takenOver.add(connection.id);
    this.deliveries.supersede(connection.client, true);
  }

  /** A connection of another instance ended (aedes announces it on its fan-out): its session is no longer connected there. */
  remoteEnd(brokerId: string, sessionName: string): void {
    if (brokerId !== this.broker?.id) this.remoteSessions.delete(sessionName);
  }

  /**
   * A7, P5: the registered client `clientName` changed so that its live connections end: each of this
   * broker's is sent the refusal (a DISCONNECT, MQTT 5) and closed, with the ending's life cycle reason.
   * Returns how many were ended.
   */
  endConnectionsOf(clientName: string, change: ClientChangeEnding): number {
    const ending = [...this.localSessions.values()].filter((connection) => connection.grant?.client.name === clientName);
    for (const connection of ending) {
      // One accepted under the client as it was, whose CONNACK is still on its way, ends once it is sent.
      if (connection.ready && connection.client) this.options.tokens.revoke(connection.client, change.refusal, change.lifecycleReason);
      else this.endOnReady.set(connection, change);
    }
    return ending.length;
  }

  /** The session store no longer counts this broker's connections as holding their sessions (its lease ran out): they are closed. */
  dropLocalSessions(): void {
    for (const connection of this.localSessions.values()) connection.transport.stream.destroy();
  }

  private async settleClosed(connection: Connection, grant: SessionGrant): Promise<void> {
    const takenOver = this.takenOver.delete(connection.id);
    if (!connection.ready) {
      // aedes refused or lost the CONNECT after our decision: the session never started.
      if (connection.replaced?.connectionId !== undefined) this.takenOver.delete(connection.replaced.connectionId);
      await this.options.sessions.abandon(grant.sessionName, connection.id, connection.replaced);
      connection.endedAs('held');
      return;
    }
    // An MQTT 5 DISCONNECT may change the Session Expiry Interval; aedes keeps it on the client (capped).
    const expiry = connection.client && expiryAtEnd(connection.client);
    const reason = this.disconnectionReason(connection, takenOver);
    const outcome = await this.options.sessions.close(grant.sessionName, connection.id, expiry);
    // A takeover at another instance that claimed the session before this end reached the store asks how it ended.
    connection.endedAs((expiry ?? grant.expirySeconds) === 0 ? 'ended' : 'held');
    this.options.events.disconnected(this.sessionRef(grant), reason);
    if (outcome === 'ended') await this.endSession(grant.sessionName);
    if (outcome === 'held') this.scheduleSweep();
  }

  /** Whether no connection of this broker, or of another instance, holds the session (L8 counts only the queues of held sessions). */
  heldOffline(sessionName: string): boolean {
    return !this.localSessions.has(sessionName) && !this.remoteSessions.has(sessionName);
  }

  /** Whether a connection of this broker holds the session. */
  connectedHere(sessionName: string): boolean {
    return this.localSessions.has(sessionName);
  }

  /**
   * A session is over: its stored state goes, and its events' sequence starts again with the next.
   * `removed`: the store removed it (views of the name say `unwiped` until its state is gone); else
   * this instance's claim replaced it.
   */
  private async endSession(sessionName: string, removed = true): Promise<void> {
    this.options.events.forget(sessionName);
    await this.wipe(sessionName, removed);
  }

  private disconnectionReason(connection: Connection, takenOver: boolean): DisconnectionReason {
    if (takenOver) return 'SessionTakenOver';
    const byCredentials = this.options.tokens.endReason(connection.client);
    if (byCredentials) return byCredentials;
    const byLimit = this.options.limits.endReason(connection.client);
    if (byLimit) return byLimit;
    if (this.stopping) return 'ServerInitiatedDisconnect';
    // aedes marks a client that ended with a DISCONNECT packet; it has no public flag for it.
    return connection.client && endedWithDisconnect(connection.client) ? 'ClientInitiatedDisconnect' : 'ConnectionLost';
  }

  /** Ends a session held offline before its expiry (L8: its queue overflowed), with the life cycle reason. */
  terminateHeldSession(sessionName: string, reason: DisconnectionReason): Promise<void> {
    const ending = async () => {
      const record = await this.options.sessions.find(sessionName);
      if (!record || record.connectionId !== undefined) return;
      await this.options.sessions.end(sessionName);
      const owner = this.options.authenticationNameOf(record.owner);
      this.options.events.disconnected({ authenticationName: owner, sessionName }, reason);
      await this.endSession(sessionName);
    };
    return ending().catch((error: Error) => this.options.log(`session "${shownName(sessionName)}" could not be ended: ${error.message}`));
  }

  /** A held session past its expiry was removed from the store: its state goes, and its name is free. */
  private expired(record: SessionRecord): Promise<void> {
    this.options.log(`session "${record.name}" of client "${record.owner}" expired; its name is free [S7]`);
    return this.endSession(record.name);
  }

  /** Ends every held session whose expiry has passed, and wipes what aedes stored for it. */
  private async expireSessions(): Promise<void> {
    // Every wipe is registered before any is awaited: a CONNECT for a name swept here but wiped later
    // would otherwise find neither the session nor its wipe, and resume the old state (L3, S7).
    await Promise.all((await this.options.sessions.sweep()).map((record) => this.expired(record)));
  }

  /** Sets the one timer that expires held sessions for the next expiry due. */
  private scheduleSweep(): void {
    if (this.stopping) return;
    this.options.sessions.nextExpiry().then(
      (next) => {
        clearTimeout(this.sweepTimer);
        if (next === undefined || this.stopping) return;
        // Capped so that a long sleep still notices a clock that jumped.
        const delay = Math.min(Math.max(next - this.options.clock(), 0), 60_000);
        this.sweepTimer = setTimeout(() => {
          this.expireSessions()
            .catch((error: Error) => this.options.log(`expired sessions could not be swept: ${error.message}`))
            .finally(() => this.scheduleSweep());
        }, delay);
        this.sweepTimer.unref();
      },
      (error: Error) => this.options.log(`the next session expiry could not be read: ${error.message}`),
    );
  }

  /**
   * Removes a session's subscriptions, will and queued messages from aedes' persistence (`removed`: of
   * a session the store removed, see SharedStateWipe). Never rejects: a failure is logged, and the next
   * CONNECT for the name still gets its answer (with a shared store, it wipes the state itself).
   */
  private wipe(sessionName: string, removed: boolean): Promise<void> {
    const broker = this.broker;
    if (!broker) return Promise.resolve();
    const previous = this.wipes.get(sessionName) ?? Promise.resolve();
    this.options.limits.sessionEnded(sessionName);
    const work = previous.then(async () => {
      if (this.options.sharedStateWipe) return this.options.sharedStateWipe(sessionName, removed);
      const persistence = persistenceOf(broker);
      const client = { id: sessionName };
      await persistence.cleanSubscriptions(client);
      await persistence.delWill({ id: sessionName, brokerId: broker.id });
      for await (const queued of persistence.outgoingStream(client)) {
        await persistence.outgoingClearMessageId(client, queued as QueuedPacket);
      }
    }).catch((error: Error) => {
      this.options.log(`could not remove the stored state of session "${sessionName}": ${error.message}`);
    });
    const tracked = work.finally(() => {
      if (this.wipes.get(sessionName) === tracked) this.wipes.delete(sessionName);
    });
    this.wipes.set(sessionName, tracked);
    return tracked;
  }

  /** The broker is stopping: aedes' DISCONNECT 0x8B to each connection reaches it before the connection is closed. */
  beginStop(): void {
    this.stopping = true;
    clearTimeout(this.sweepTimer);
    for (const connection of this.localSessions.values()) {
      if (connection.client && connection.ready) announceShutdown(connection.client);
      closeGracefully(connection.transport.stream);
    }
  }

  private sessionRef(grant: SessionGrant) {
    return { authenticationName: grant.client.authenticationName, sessionName: grant.sessionName };
  }
}
