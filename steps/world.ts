// The world each scenario runs in: the target, the identities, and every client it opened, so that
// all of them are ended after the scenario whatever happened.
import { readFileSync } from 'node:fs';
import { defineParameterType, setDefaultTimeout, setWorldConstructor, World, type IWorldOptions } from '@cucumber/cucumber';
import { ConformanceFailure } from '../common/errors.ts';
import { controlCounterpart } from '../certs/identities.ts';
import { loadPki, type LoadedIdentity, type LoadedPki } from '../certs/manifest.ts';
import type { ClientChange, ClientResource } from '../eventgrid/namespace.ts';
import { sessionTopic, ungrantedTopic } from '../eventgrid/suite-contract.ts';
import { issueToken } from '../certs/tokens.ts';
import { allowedAs } from '../reference/webhook-service.ts';
import type { AuthenticationMethod, MqttVersion } from '../rules/catalogue.ts';
import { describeCode, REFUSAL } from '../rules/codes.ts';
import { formatObservation, type Observation } from '../report/scenarios.ts';
import { SessionClient, type Accepted, type PublishOutcome, type Refused, type SessionClientOptions } from '../mqtt-client/session-client.ts';
import { RawConnection, type RawConnectOptions, type RawConnectOutcome } from '../mqtt-client/raw-client.ts';
import { TlsSessions } from '../mqtt-client/tls-context.ts';
import { PacketLog } from '../mqtt-client/packet-log.ts';
import { PACKETS_MEDIA_TYPE } from '../report/packets.ts';
import type { TargetParameters } from './target.ts';
import { EXPIRY_PROBERS } from './roles.ts';
import { instanceTally } from './instance-tally.ts';

defineParameterType({ name: 'version', regexp: /3\.1\.1|5/, transformer: (text) => text as MqttVersion });

/** Every step ends within this, so that a silent broker fails a scenario instead of hanging the run. */
const STEP_TIMEOUT_MS = 15_000;
/** Each single wait on the broker (CONNACK, SUBACK, a message) is shorter, so its own error shows. */
export const CLIENT_TIMEOUT_MS = 5_000;
setDefaultTimeout(STEP_TIMEOUT_MS);

/** Read once per run: every scenario's world uses the same PKI and server CA. */
const files = new Map<string, { pki: LoadedPki; caPem: string }>();
/** When each ClientID was last tried, across scenarios: the S3 scenarios share a bare ClientID. */
const lastAttemptAt = new Map<string, number>();
let scenarioCounter = 0;
/** What pacing (one attempt per second per ClientID, remote targets) cost this process, shown at its end. */
const pacing = { waits: 0, ms: 0 };
process.once('exit', () => {
  if (pacing.waits) console.log(`pacing: ${pacing.waits} waits, ${(pacing.ms / 1000).toFixed(1)} s of wall time (one attempt per second per ClientID)`);
});
/** The TLS sessions this process's clients resume, where the target allows it (TargetParameters.resumeTls). */
const tlsSessions = new TlsSessions();
// Unique per run, so that sessions an earlier run left held (locked until they expire) never collide.
const RUN_ID = Math.random().toString(36).slice(2, 8);

/** How often an embedded run retries a CONNECT while it waits for a session to expire (each try is a TLS handshake: CPU the other scenarios share). */
const EXPIRY_POLL_MS = 200;

/** A session the scenario expects to expire: its name is retried, not waited for by a formula. */
interface PendingExpiry {
  ownerIdentityId: string;
  since: number;
  /** The latest the target may take: the expiry in force, plus a margin for a broker that sweeps now and then. */
  deadline: number;
}


/** A token as a client presents it: its Authentication Method and the token. */
export type PresentedToken = NonNullable<SessionClientOptions['token']>;

/**
 * `token`: what to present instead of the scenario's method's own credentials: a token (a bad one, a
 * good one under another method), or null for the identity's certificate in a token scenario.
 */
export type ConnectOptions = Omit<Partial<SessionClientOptions>, 'token'> & { rawClientId?: string; token?: PresentedToken | null };

/** What a CONNECT got: from a SessionClient, or from one written byte by byte (mqtt-client/raw-client.ts). */
export type ConnectOutcome = Accepted | Refused | RawConnectOutcome;

/** A CONNECT written byte by byte: what RawConnection.connect takes, less what the world knows. */
export type RawRequest = Omit<RawConnectOptions, 'url' | 'ca' | 'tlsSessions' | 'identity' | 'version' | 'timeoutMs'>;

/**
 * The control of a CONNECT: the same CONNECT with one thing changed (by default a fresh session name),
 * which the target must accept when it refuses the attempt, so that a refusal is shown to be for the
 * rule's reason and not for one the scenario is not about (a version the target does not speak, a
 * Username it does not like, a connection cap, ...).
 */
export interface Control {
  /** "an identical CONNECT with a fresh session name": what the control is, as a failure names it. */
  what: string;
  run(): Promise<ConnectOutcome>;
}

/** What a step changes in a CONNECT to make its control; whatever it does not name stays identical. */
export interface ControlChange {
  what: string;
  identityId?: string;
  /** A Gherkin session name (the run prefix is added); default the attempt's name with "-control-N". */
  sessionName?: string;
  options?: ConnectOptions;
}

/** The control of a CONNECT whose Username is what the scenario is about: the identity's own Username. */
export const OWN_USERNAME: ControlChange = { what: "an identical CONNECT with the identity's own Username and a fresh session name", options: { username: undefined } };

interface OpenSession {
  identityId: string;
  /** The Username it connected with, when not the identity's own name. */
  username?: string | null;
  name: string;
  version: MqttVersion;
  /** Opened with Clean Start and no expiry (3.1.1: a clean session): it ends with its connection, and needs no CONNECT to end it. */
  endsWithConnection: boolean;
  /** How long the target holds it once left, seconds: what its client asked for, within the namespace's maximum. */
  expirySeconds?: number;
  /** The client that opened it, when not a connection written byte by byte. */
  client?: SessionClient;
  /** The endpoint (the instance, of a namespace served by several) that accepted it. */
  url?: string;
  /** The token or password it authenticated with, when not the certificate: ending it presents the same. */
  token?: PresentedToken;
  password?: string;
}

export class ConformanceWorld extends World<TargetParameters> {
  readonly target: TargetParameters;
  /** The endpoint this scenario talks to: the target, or its alternative-names, limit or short-expiry namespace (steps/hooks.ts). */
  url: string;
  /** The session limit of the namespace at `url`. */
  sessionLimit: number;
  /** The maximum session expiry of the namespace at `url`, seconds. */
  maxSessionExpirySeconds: number;
  readonly pki: LoadedPki;
  readonly caPem: string;
  private readonly prefix: string;
  version: MqttVersion = '5';
  /** How the scenario's clients authenticate (its method tag, set before it runs): the certificate, or a token of the set's issuer. */
  method: AuthenticationMethod = 'certificate';
  /** Each identity's token of the set's local issuer, made once per scenario. */
  private readonly tokens = new Map<string, Promise<string>>();
  /** The catalogued rules the scenario is tagged with (set before it runs). */
  rules: string[] = [];
  /** Whether the scenario waits for a session to expire (set before it runs): its MQTT 5 sessions then ask the short expiry. */
  waitsForExpiry = false;
  /** Every packet this scenario's clients sent and received (the session client's and the raw client's). */
  readonly packets = new PacketLog();
  /** Live clients by Gherkin session name; the older connection after a takeover stays in `replaced`. */
  readonly sessions = new Map<string, SessionClient>();
  readonly replaced = new Map<string, SessionClient>();
  private readonly allClients: SessionClient[] = [];
  /** Byte-level connections (mqtt-client/raw-client.ts); Clean Start with no expiry, they end their sessions. */
  readonly rawConnections: RawConnection[] = [];
  /** Every session accepted in this scenario, to be ended afterwards. */
  readonly accepted: OpenSession[] = [];
  lastOutcome?: ConnectOutcome;
  /** The control of the CONNECT that gave lastOutcome: every refusal step runs it (steps/refusal-judgement.ts). */
  lastControl?: Control;
  /** Identities that raced for one session name, with what each got. */
  race?: { identityId: string; outcome: Accepted | Refused; control: Control }[];
  /** The CONNECT that gave lastOutcome, for steps that send it again with one thing changed. */
  lastRequest?: { identityId: string; sessionName: string; options: ConnectOptions };
  /** Controls made so far, so that each has a session name of its own. */
  private controls = 0;
  /** Set by a step: refusals in this scenario are controlled by this identity instead (S9: the count is per identity). */
  controlIdentity?: string;
  /** The case of the rule's expected refusal a step's CONNECT falls under (the catalogue's `case`), if it says. */
  refusalCase?: string;
  /** By ClientID: sessions the scenario waits to see expire. */
  private readonly pendingExpiries = new Map<string, PendingExpiry>();
  /** The authentication name each session was opened under: its topics are that client's. */
  private readonly owners = new Map<string, string>();
  /** Registered clients this scenario changed (A7), by resource name, with what they were. */
  private readonly changedClients = new Map<string, ClientChange>();
  /** Connections made so far to a namespace of several instances: the next goes to the next instance. */
  private connectionsMade: number;
  /** The instances this scenario's connections reached. */
  readonly instancesReached = new Set<string>();
  /** The SUBACK code and topic of the last SUBSCRIBE a step made (P1-P4), or why no SUBACK came. */
  lastSubscription?: { topic: string; code: number | undefined; noSuback?: string };
  /** What became of the last PUBLISH a step made (P1-P4). */
  lastPublication?: { topic: string; outcome: PublishOutcome };

  constructor(options: IWorldOptions<TargetParameters>) {
    super(options);
    this.target = options.parameters;
    this.url = this.target.url;
    this.sessionLimit = this.target.sessionLimit;
    this.maxSessionExpirySeconds = this.target.maxSessionExpirySeconds;
    const key = `${this.target.identitiesDir}\n${this.target.caFile}`;
    const cached = files.get(key) ?? { pki: loadPki(this.target.identitiesDir), caPem: readFileSync(this.target.caFile, 'utf8') };
    files.set(key, cached);
    ({ pki: this.pki, caPem: this.caPem } = cached);
    scenarioCounter += 1;
    this.prefix = `mmc-${RUN_ID}-${scenarioCounter}-`;
    // Scenarios start at different instances, so that single-connection scenarios load them evenly too.
    this.connectionsMade = scenarioCounter;
  }

  /**
   * Where the next connection of this world finds the server and its TLS: the endpoint, its CA, and
   * sessions to resume. A namespace of several instances gives each connection the next instance, so
   * that an owner and an intruder, or a session and its resumption, meet at different ones.
   */
  private get endpoint(): { url: string; ca: string; tlsSessions?: TlsSessions; packetLog: PacketLog } {
    return { url: this.nextInstance(), ca: this.caPem, ...(this.target.resumeTls ? { tlsSessions } : {}), packetLog: this.packets };
  }

  private nextInstance(): string {
    const instances = this.target.instances?.[this.url];
    if (!instances?.length) return this.url;
    const url = instances[this.connectionsMade++ % instances.length]!;
    instanceTally.connected(url);
    this.instancesReached.add(url);
    return url;
  }

  identity(id: string): LoadedIdentity {
    const identity = this.pki.identities.get(id);
    if (!identity) throw new Error(`no identity "${id}" in ${this.pki.dir}/identities.json`);
    return identity;
  }

  /** The ClientID on the wire for a session name in a scenario. */
  clientId(sessionName: string): string {
    return this.prefix + sessionName;
  }

  /** The inbox topic of a session, under its current owner's own topics (eventgrid/suite-contract.ts). */
  topic(sessionName: string): string {
    const owner = this.owners.get(sessionName);
    if (!owner) throw new Error(`no connection was accepted for session "${sessionName}" in this scenario`);
    return this.topicOf(owner, sessionName);
  }

  /** A topic of the client with this authentication name, for this scenario. */
  topicOf(authenticationName: string, leaf: string): string {
    return sessionTopic(this.target.topicRoot, authenticationName, this.clientId(leaf));
  }

  /** A topic no permission binding of the suite grants. */
  topicOutside(): string {
    return ungrantedTopic(this.target.topicRoot, this.clientId('outside'));
  }

  /** The registered authentication name a presented one stands for (A4: case does not matter). */
  registeredName(presented: string): string {
    const lower = presented.toLowerCase();
    for (const { entry } of this.pki.identities.values()) {
      if (entry.role !== 'case-variant' && entry.authenticationName.toLowerCase() === lower) return entry.authenticationName;
    }
    return presented;
  }

  /** Whether two identities of the set are one registered client (A4: a case-variant certificate is its original's). */
  private sameClient(identityId: string, other: string): boolean {
    const registered = (id: string) => this.registeredName(this.identity(id).entry.authenticationName);
    return registered(identityId) === registered(other);
  }

  /** A good token for the identity under a token method: the set's local issuer's (CUSTOM-JWT) or its Entra ID stand-in's (OAUTH2-JWT). */
  tokenFor(identityId: string, method: 'CUSTOM-JWT' | 'OAUTH2-JWT' = 'CUSTOM-JWT'): Promise<string> {
    const key = `${method} ${identityId}`;
    let token = this.tokens.get(key);
    if (!token) this.tokens.set(key, (token = issueToken(this.pki, { identity: identityId, method })));
    return token;
  }

  /** What a client of this identity presents instead of its certificate, under the scenario's method; undefined: the certificate. */
  private async tokenOf(identityId: string, given: PresentedToken | null | undefined): Promise<PresentedToken | undefined> {
    if (given !== undefined) return given ?? undefined;
    if (this.method !== 'CUSTOM-JWT' && this.method !== 'OAUTH2-JWT') return undefined;
    return { method: this.method, data: await this.tokenFor(identityId, this.method) };
  }

  /** On the webhook's namespace, the password that has the test webhook allow the identity, named as it is. */
  private webhookPassword(identityId: string): string | undefined {
    return this.method === 'webhook' ? allowedAs(this.identity(identityId).entry.authenticationName) : undefined;
  }

  /**
   * A7, P5: changes the identity's registered client through the reference's management API (disabled,
   * other credentials, other client groups); it is put back as it was after the scenario. The client
   * resource is named by the identity's id (certs/namespace.ts). On a namespace of several instances,
   * through an instance other than the one that holds the identity's last connection: the change must
   * reach the instance that ends it.
   */
  async changeClient(identityId: string, change: ClientChange): Promise<void> {
    const name = this.identity(identityId).entry.id;
    const holding = [...this.accepted].reverse().find((session) => session.identityId === identityId)?.url;
    const url = this.clientsUrlAwayFrom(holding);
    if (!this.changedClients.has(name)) {
      const { state, authenticationName, clientCertificateAuthentication, attributes } = (await this.clientsApi(url, name, 'GET')) as ClientResource;
      this.changedClients.set(name, { state, authenticationName, clientCertificateAuthentication, attributes });
    }
    await this.clientsApi(url, name, 'PATCH', change);
  }

  /** The management API of the instance after the one at `connectedTo` (the target's own when it is served by one). */
  private clientsUrlAwayFrom(connectedTo: string | undefined): string {
    const url = this.target.clientsUrl;
    if (!url) throw new Error('this target has no management API for its clients: tag the scenario @changes-clients');
    const apis = this.target.instances?.[url];
    const endpoints = this.target.instances?.[this.url];
    const index = connectedTo === undefined ? -1 : (endpoints?.indexOf(connectedTo) ?? -1);
    if (!apis?.length || !endpoints || index < 0) return url;
    const away = (index + 1) % apis.length;
    this.instancesReached.add(endpoints[away]!);
    return apis[away]!;
  }

  private async clientsApi(url: string, name: string, method: 'GET' | 'PATCH', body?: ClientChange): Promise<unknown> {
    const response = await fetch(`${url}${encodeURIComponent(name)}`, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}), signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    const answer: unknown = await response.json();
    if (!response.ok) throw new Error(`the management API answered ${method} ${name} with ${response.status}: ${JSON.stringify(answer)}`);
    return answer;
  }

  /** Waits, against a remote target, until a second has passed since the last attempt on that ClientID. */
  private async pace(clientId: string): Promise<void> {
    const last = lastAttemptAt.get(clientId);
    if (this.target.pace && last !== undefined) {
      const wait = last + 1000 - Date.now();
      if (wait > 0) {
        pacing.waits += 1;
        pacing.ms += wait;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    lastAttemptAt.set(clientId, Date.now());
  }

  /**
   * The session is expected to expire: the next CONNECT for its name is retried until the target
   * frees it, within the expiry in force (the short interval for MQTT 5, the namespace maximum for
   * 3.1.1) plus a margin, at the pace the target allows.
   */
  expectExpiry(sessionName: string): void {
    const clientId = this.clientId(sessionName);
    const owner = [...this.accepted].reverse().find((session) => session.name === clientId);
    if (!owner) throw new Error(`no connection was accepted for session "${sessionName}" in this scenario`);
    const seconds = owner.version === '5' ? Math.min(this.target.shortSessionExpirySeconds, this.maxSessionExpirySeconds) : this.maxSessionExpirySeconds;
    const now = Date.now();
    this.pendingExpiries.set(clientId, { ownerIdentityId: owner.identityId, since: now, deadline: now + seconds * 1000 * 1.02 + 1000 });
  }

  private isHeldRefusal(outcome: Accepted | Refused, version: MqttVersion): boolean {
    return !outcome.accepted && outcome.code === (version === '5' ? REFUSAL.notAuthorized.reasonCode : REFUSAL.notAuthorized.returnCode);
  }

  /** Retries `attempt` while the target refuses it because the session is still held, until the deadline. */
  private async untilFree(clientId: string, pending: PendingExpiry, version: MqttVersion, attempt: () => Promise<Accepted | Refused>): Promise<Accepted | Refused> {
    for (;;) {
      await this.pace(clientId);
      const outcome = await attempt();
      if (!this.isHeldRefusal(outcome, version) || Date.now() >= pending.deadline) {
        const seconds = ((Date.now() - pending.since) / 1000).toFixed(1);
        const limit = ((pending.deadline - pending.since) / 1000).toFixed(1);
        this.observe({ step: 'expires', expected: `the name free within ${limit} s`, observed: this.isHeldRefusal(outcome, version) ? `still held after ${seconds} s` : `free after ${seconds} s` });
        return outcome;
      }
      if (!this.target.pace) await new Promise((resolve) => setTimeout(resolve, EXPIRY_POLL_MS));
    }
  }

  /**
   * The owner cannot poll its own held session (a CONNECT would resume it): another identity asks
   * for the name, with no Clean Start and no expiry, until it is granted as a new session; its
   * connection then ends, and the session with it.
   */
  private async probeExpiry(clientId: string, pending: PendingExpiry): Promise<void> {
    const prober = EXPIRY_PROBERS.find((id) => id !== pending.ownerIdentityId)!;
    const outcome = await this.untilFree(clientId, pending, '5', () =>
      SessionClient.connect({ ...this.endpoint, identity: this.identity(prober), sessionName: clientId, version: '5', cleanStart: false, sessionExpiry: 0, timeoutMs: CLIENT_TIMEOUT_MS }),
    );
    if (!outcome.accepted) throw new ConformanceFailure(`session "${clientId}" did not expire: identity "${prober}" still got ${describeCode('5', outcome.code ?? -1)}`);
    const present = outcome.client.sessionPresent;
    await outcome.client.disconnect().catch(() => outcome.client.close());
    if (present) throw new ConformanceFailure(`after its expiry, session "${clientId}" was resumed (Session Present 1) for another identity: its state outlived it`);
  }

  /**
   * Connects; the outcome is kept as the scenario's last, with its control (by default the identical
   * CONNECT with a fresh session name, by the identity's good counterpart when its certificate or
   * registration is what the scenario is about), and an accepted client is tracked.
   */
  async connect(identityId: string, sessionName: string, options: ConnectOptions = {}, change?: ControlChange): Promise<Accepted | Refused> {
    const { outcome, control } = await this.attempt(identityId, sessionName, options, change);
    // A2 expects one code for a client registered Disabled, another for one not registered at all.
    if (this.identity(identityId).entry.role === 'disabled') this.refusalCase = 'disabled';
    this.lastRequest = { identityId, sessionName, options };
    this.lastOutcome = outcome;
    this.lastControl = control;
    return outcome;
  }

  /** One CONNECT and its control, without making it the scenario's last (for steps that race several). */
  async attempt(identityId: string, sessionName: string, options: ConnectOptions = {}, change?: ControlChange): Promise<{ outcome: Accepted | Refused; control: Control }> {
    const outcome = await this.open(identityId, sessionName, options);
    const counterpart = this.controlIdentity ?? this.counterpart(identityId);
    const controlIdentity = change?.identityId ?? counterpart;
    const what =
      change?.what ??
      (controlIdentity === identityId
        ? 'an identical CONNECT with a fresh session name'
        : this.controlIdentity
          ? `an identical CONNECT by identity "${controlIdentity}" with a fresh session name`
          : `an identical CONNECT by identity "${controlIdentity}", a good certificate under the same validation scheme, with a fresh session name`);
    const { rawClientId: _raw, ...kept } = options;
    this.controls += 1;
    const controlName = change?.sessionName ?? `${sessionName || 'empty'}-control-${this.controls}`;
    const controlOptions: ConnectOptions = { ...kept, ...change?.options };
    const control: Control = {
      what,
      run: async () => {
        const controlled = await this.open(controlIdentity, controlName, controlOptions);
        await this.endControl(controlOptions.rawClientId ?? this.clientId(controlName), controlled);
        return controlled;
      },
    };
    return { outcome, control };
  }

  /**
   * The identity whose CONNECT controls this one's refusal: itself, or for an identity whose certificate
   * or registration is wrong on purpose, the first good client under the same validation scheme.
   */
  counterpart(identityId: string): string {
    this.identity(identityId);
    const good = controlCounterpart(this.pki.manifest.identities, identityId);
    if (!good) throw new Error(`no good identity with the validation scheme of "${identityId}" to control its refusals`);
    return good;
  }

  /**
   * Connects and tracks an accepted client; nothing is kept as the scenario's last outcome. A name the
   * scenario expects to expire is retried until the target frees it (another identity's CONNECT is the
   * probe, S7; the owner's waits for a probe first).
   */
  private async open(identityId: string, sessionName: string, options: ConnectOptions): Promise<Accepted | Refused> {
    const { rawClientId, token: given, ...clientOptions } = options;
    const clientId = rawClientId ?? this.clientId(sessionName);
    const persistent = this.version === '5' ? { sessionExpiry: this.waitsForExpiry ? this.target.shortSessionExpirySeconds : this.target.sessionExpirySeconds } : {};
    const token = await this.tokenOf(identityId, given);
    const password = clientOptions.password ?? this.webhookPassword(identityId);
    let url: string | undefined;
    const attempt = () => {
      const endpoint = this.endpoint;
      url = endpoint.url;
      return SessionClient.connect({
        ...endpoint,
        identity: this.identity(identityId),
        sessionName: clientId,
        version: this.version,
        timeoutMs: CLIENT_TIMEOUT_MS,
        ...persistent,
        ...clientOptions,
        token,
        password,
      });
    };
    const pending = this.pendingExpiries.get(clientId);
    this.pendingExpiries.delete(clientId);
    let outcome: Accepted | Refused;
    if (pending && !this.sameClient(pending.ownerIdentityId, identityId)) {
      // Another identity: its own CONNECT is the probe; refused as not authorized while still held (S7).
      outcome = await this.untilFree(clientId, pending, this.version, attempt);
    } else {
      if (pending) await this.probeExpiry(clientId, pending);
      await this.pace(clientId);
      outcome = await attempt();
    }
    if (outcome.accepted) {
      const previous = this.sessions.get(sessionName);
      if (previous) this.replaced.set(sessionName, previous);
      this.sessions.set(sessionName, outcome.client);
      this.allClients.push(outcome.client);
      const { cleanStart, sessionExpiry } = { ...persistent, ...clientOptions };
      const endsWithConnection = this.version === '5' ? sessionExpiry === 0 : cleanStart === true;
      const expirySeconds = endsWithConnection ? 0 : this.version === '5' ? Math.min(sessionExpiry ?? 0, this.maxSessionExpirySeconds) : this.maxSessionExpirySeconds;
      this.accepted.push({ identityId, username: clientOptions.username, name: clientId, version: this.version, endsWithConnection, expirySeconds, client: outcome.client, url, token, password });
      // The session's topics are its current owner's (a case variant's are those of the name it stands for).
      this.owners.set(sessionName, this.registeredName(clientOptions.username ?? this.identity(identityId).entry.authenticationName));
    }
    return outcome;
  }

  /** A Username that names no registered client, in any letter case. */
  unregisteredUsername(): string {
    return `${this.prefix}nobody-registered`;
  }

  /**
   * A CONNECT written byte by byte (mqtt-client/raw-client.ts), for what mqtt.js will not send; kept as
   * the scenario's last outcome with its control: `control` says what it changes, by default the same
   * bytes with a fresh ClientID. An accepted connection is closed after the scenario, and a session
   * that outlives it (Clean Start 0) ended.
   */
  async connectRaw(identityId: string, request: RawRequest, control?: { what: string; request: RawRequest }): Promise<RawConnectOutcome> {
    const outcome = await this.openRaw(identityId, request);
    this.controls += 1;
    const controlRequest = control?.request ?? { ...request, clientId: Buffer.from(this.clientId(`raw-control-${this.controls}`)) };
    this.lastRequest = undefined;
    this.lastOutcome = outcome;
    this.lastControl = {
      what: control?.what ?? 'the same CONNECT bytes with a fresh ClientID',
      run: async () => {
        const controlled = await this.openRaw(identityId, controlRequest);
        await this.endControl(controlRequest.clientId.toString(), controlled);
        return controlled;
      },
    };
    return outcome;
  }

  /**
   * Ends an accepted control's connection and session at once: it only had to be accepted, and must not
   * count against the identity's session limit for the rest of the scenario (or a scenario beside it).
   */
  private async endControl(clientId: string, outcome: ConnectOutcome): Promise<void> {
    if (!outcome.accepted) return;
    await this.endAccepted(clientId);
    // A byte-level connection's session is ended by the CONNECT above when it was kept, else with it.
    if ('client' in outcome) outcome.client.close();
    else outcome.connection.close();
  }

  /**
   * Ends the session last accepted for this ClientID at once (with its connection), and no longer
   * tracks it: a session that was only there to be accepted, and must not count against a limit.
   */
  async endAccepted(clientId: string): Promise<void> {
    const index = this.accepted.map((session) => session.name).lastIndexOf(clientId);
    if (index >= 0) await this.endSessions(this.accepted.splice(index, 1));
  }

  private async openRaw(identityId: string, request: RawRequest): Promise<RawConnectOutcome> {
    await this.pace(request.clientId.toString('latin1'));
    // The scenario's method's credentials, as a SessionClient of it presents them (open, above).
    const token = await this.tokenOf(identityId, undefined);
    const password = this.webhookPassword(identityId);
    const credentials = token || password ? { ...(token ? { token: { method: token.method, data: Buffer.from(token.data) } } : {}), ...(password ? { password: Buffer.from(password) } : {}) } : undefined;
    const outcome = await RawConnection.connect({ ...this.endpoint, identity: this.identity(identityId), version: this.version, timeoutMs: CLIENT_TIMEOUT_MS, credentials, ...request });
    if (outcome.accepted) {
      this.rawConnections.push(outcome.connection);
      if (request.cleanStart === false) {
        const username = request.username === undefined || request.username === null ? request.username : request.username.toString();
        this.accepted.push({ identityId, username, name: request.clientId.toString(), version: this.version, endsWithConnection: false, token, password });
      }
    }
    return outcome;
  }

  /**
   * For an accepted CONNECT by a client other than the one that left a session (held until its expiry)
   * under its ClientID: how long after that session's expiry could have ended (its client began to leave
   * it, plus its expiry) the CONNACK came, ms; undefined when it came before, or no such session was left.
   * Such a late acceptance proves nothing against S7: the CONNECT may have reached the target after the expiry.
   */
  acceptedAfterHeldExpiry(identityId: string, clientId: string, client: SessionClient): number | undefined {
    const held = [...this.accepted].reverse().find((session) => session.name === clientId && session.client !== client);
    const left = held?.client?.left;
    if (!held || !left || this.sameClient(held.identityId, identityId)) return undefined;
    // An interval its DISCONNECT gave replaces the CONNECT's (MQTT 5), within the namespace's maximum.
    const seconds = left.sessionExpiry === undefined ? held.expirySeconds : Math.min(left.sessionExpiry, this.maxSessionExpirySeconds);
    if (!seconds) return undefined;
    const late = client.acceptedAt - (left.at + seconds * 1000);
    return late >= 0 ? Math.round(late) : undefined;
  }

  /** The last outcome, for a step that needs its client: one made with a SessionClient. */
  lastClientOutcome(): Accepted | Refused {
    const outcome = this.lastOutcome;
    if (!outcome) throw new Error('no connection was attempted before this step');
    if (outcome.accepted && !('client' in outcome)) throw new Error('the last connection was written byte by byte: this step needs one made by a client');
    return outcome as Accepted | Refused;
  }

  session(sessionName: string): SessionClient {
    const client = this.sessions.get(sessionName);
    if (!client) throw new Error(`no connection was accepted for session "${sessionName}" in this scenario`);
    return client;
  }

  describe(code: number | undefined): string {
    return code === undefined ? 'no CONNACK (connection closed)' : describeCode(this.version, code);
  }

  /** Attaches the packets the scenario's clients exchanged to the scenario, for reports/report.html. */
  attachPackets(): void {
    this.attach(JSON.stringify(this.packets), PACKETS_MEDIA_TYPE);
  }

  /** Records what a step expected and what the target did, for the per-rule report. */
  observe(observation: Observation): void {
    this.log(formatObservation(observation));
  }

  /**
   * Ends sessions that outlive their connection: an MQTT 5 one still connected with a DISCONNECT that
   * sets its expiry to 0, any other with a CONNECT with Clean Start and no expiry; then closes their
   * clients. One that ends with its connection only has its client closed.
   */
  private async endSessions(sessions: OpenSession[]): Promise<void> {
    const reconnect: OpenSession[] = [];
    for (const session of sessions) {
      if (session.endsWithConnection) session.client?.close();
      else if (session.version === '5' && session.client?.connected) await session.client.disconnect({ sessionExpiry: 0 }).catch(() => reconnect.push(session));
      else reconnect.push(session);
    }
    for (const session of reconnect) {
      session.client?.close();
      await this.pace(session.name);
      await SessionClient.end({
        ...this.endpoint,
        identity: this.identity(session.identityId),
        username: session.username,
        sessionName: session.name,
        version: session.version,
        timeoutMs: CLIENT_TIMEOUT_MS,
        token: session.token,
        password: session.password,
      });
    }
  }

  /**
   * Ends every session the scenario left, so that none is left to count against a limit or hold a
   * name (the identity that last won a session name is the one that can end it), then every client.
   */
  async cleanUp(): Promise<void> {
    try {
      // First the clients as they were, so that a disabled one's held sessions can be ended.
      for (const [name, original] of this.changedClients) await this.clientsApi(this.clientsUrlAwayFrom(undefined), name, 'PATCH', original);
    } finally {
      await this.endSessions([...new Map(this.accepted.map((session) => [session.name, session])).values()]);
      for (const client of this.allClients) client.close();
      for (const connection of this.rawConnections) connection.close();
    }
  }
}

setWorldConstructor(ConformanceWorld);
