// The world each scenario runs in: the target, the identities, and every client it opened, so that
// all of them are ended after the scenario whatever happened.
import { readFileSync } from 'node:fs';
import { defineParameterType, setDefaultTimeout, setWorldConstructor, World, type IWorldOptions } from '@cucumber/cucumber';
import { loadPki, type LoadedIdentity, type LoadedPki } from '../certs/manifest.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import { describeCode } from '../rules/codes.ts';
import { OBSERVATION_MEDIA_TYPE, type Observation } from '../report/scenarios.ts';
import { SessionClient, type Accepted, type Refused, type SessionClientOptions } from '../mqtt-client/session-client.ts';
import { rawConnect, type RawConnectOptions } from '../mqtt-client/raw-connect.ts';
import type { TargetParameters } from './target.ts';

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
// Unique per run, so that sessions an earlier run left held (locked until they expire) never collide.
const RUN_ID = Math.random().toString(36).slice(2, 8);

export type ConnectOptions = Partial<SessionClientOptions> & { rawClientId?: string };

/**
 * The control of a CONNECT: the same CONNECT with one thing changed (by default a fresh session name),
 * which the target must accept when it refuses the attempt, so that a refusal is shown to be for the
 * rule's reason and not for one the scenario is not about (a version the target does not speak, a
 * Username it does not like, a connection cap, ...).
 */
export interface Control {
  /** "an identical CONNECT with a fresh session name": what the control is, as a failure names it. */
  what: string;
  run(): Promise<Accepted | Refused>;
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
}

export class ConformanceWorld extends World<TargetParameters> {
  readonly target: TargetParameters;
  /** The endpoint this scenario talks to: the target, or its alternative-names namespace. */
  url: string;
  readonly pki: LoadedPki;
  readonly caPem: string;
  private readonly prefix: string;
  version: MqttVersion = '5';
  /** The catalogued rules the scenario is tagged with (set before it runs). */
  rules: string[] = [];
  /** Live clients by Gherkin session name; the older connection after a takeover stays in `replaced`. */
  readonly sessions = new Map<string, SessionClient>();
  readonly replaced = new Map<string, SessionClient>();
  private readonly allClients: SessionClient[] = [];
  /** Every session accepted in this scenario, to be ended afterwards. */
  readonly accepted: OpenSession[] = [];
  lastOutcome?: Accepted | Refused;
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

  constructor(options: IWorldOptions<TargetParameters>) {
    super(options);
    this.target = options.parameters;
    this.url = this.target.url;
    const key = `${this.target.identitiesDir}\n${this.target.caFile}`;
    const cached = files.get(key) ?? { pki: loadPki(this.target.identitiesDir), caPem: readFileSync(this.target.caFile, 'utf8') };
    files.set(key, cached);
    ({ pki: this.pki, caPem: this.caPem } = cached);
    scenarioCounter += 1;
    this.prefix = `mmc-${RUN_ID}-${scenarioCounter}-`;
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

  topic(sessionName: string): string {
    return `${this.prefix}${sessionName}/inbox`;
  }

  /** Waits, against a remote target, until a second has passed since the last attempt on that ClientID. */
  private async pace(clientId: string): Promise<void> {
    const last = lastAttemptAt.get(clientId);
    if (this.target.pace && last !== undefined) {
      const wait = last + 1000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    lastAttemptAt.set(clientId, Date.now());
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
    const control: Control = { what, run: () => this.open(controlIdentity, controlName, { ...kept, ...change?.options }) };
    return { outcome, control };
  }

  /**
   * The identity whose CONNECT controls this one's refusal: itself, or for an identity whose certificate
   * or registration is wrong on purpose, the first good client under the same validation scheme.
   */
  counterpart(identityId: string): string {
    const { role, validationScheme } = this.identity(identityId).entry;
    if (role !== 'negative' && role !== 'disabled') return identityId;
    const good = [...this.pki.identities.values()].find((other) => other.entry.role === 'client' && other.entry.validationScheme === validationScheme);
    if (!good) throw new Error(`no good identity with validation scheme ${validationScheme} to control identity "${identityId}"`);
    return good.entry.id;
  }

  /** Connects and tracks an accepted client; nothing is kept as the scenario's last outcome. */
  private async open(identityId: string, sessionName: string, options: ConnectOptions): Promise<Accepted | Refused> {
    const { rawClientId, ...clientOptions } = options;
    const clientId = rawClientId ?? this.clientId(sessionName);
    await this.pace(clientId);
    const persistent = this.version === '5' ? { sessionExpiry: this.target.shortSessionExpirySeconds } : {};
    const outcome = await SessionClient.connect({
      url: this.url,
      ca: this.caPem,
      identity: this.identity(identityId),
      sessionName: clientId,
      version: this.version,
      timeoutMs: CLIENT_TIMEOUT_MS,
      ...persistent,
      ...clientOptions,
    });
    if (outcome.accepted) {
      const previous = this.sessions.get(sessionName);
      if (previous) this.replaced.set(sessionName, previous);
      this.sessions.set(sessionName, outcome.client);
      this.allClients.push(outcome.client);
      this.accepted.push({ identityId, username: clientOptions.username, name: clientId, version: this.version });
    }
    return outcome;
  }

  /** A Username that names no registered client, in any letter case. */
  unregisteredUsername(): string {
    return `${this.prefix}nobody-registered`;
  }

  /**
   * A CONNECT written byte by byte (mqtt-client/raw-connect.ts), for what mqtt.js will not send; its
   * control is the same bytes with a fresh session name. A session it opens is ended after the scenario.
   */
  async connectRaw(identityId: string, clientId: string, options: Omit<RawConnectOptions, 'url' | 'ca' | 'identity' | 'version' | 'clientId' | 'timeoutMs'>): Promise<Accepted | Refused> {
    const send = async (id: string): Promise<Accepted | Refused> => {
      await this.pace(id);
      const connack = await rawConnect({ url: this.url, ca: this.caPem, identity: this.identity(identityId), version: this.version, clientId: id, timeoutMs: CLIENT_TIMEOUT_MS, ...options });
      if (connack.code === 0) {
        this.accepted.push({ identityId, username: options.username, name: id, version: this.version });
        // No client to use: the connection is closed already; only Session Present is read from it.
        return { accepted: true, client: { sessionPresent: connack.sessionPresent } as SessionClient };
      }
      return { accepted: false, code: connack.code, ...(connack.reasonString ? { reasonString: connack.reasonString } : {}), message: connack.code === undefined ? 'the connection closed with no CONNACK' : 'refused by CONNACK' };
    };
    const outcome = await send(clientId);
    this.lastRequest = undefined;
    this.lastOutcome = outcome;
    this.lastControl = { what: 'the same CONNECT bytes with a fresh session name', run: () => send(this.clientId(`${clientId || 'empty'}-control`)) };
    return outcome;
  }

  session(sessionName: string): SessionClient {
    const client = this.sessions.get(sessionName);
    if (!client) throw new Error(`no connection was accepted for session "${sessionName}" in this scenario`);
    return client;
  }

  describe(code: number | undefined): string {
    return code === undefined ? 'no CONNACK (connection closed)' : describeCode(this.version, code);
  }

  /** Records what a step expected and what the target did, for the per-rule report. */
  observe(observation: Observation): void {
    this.attach(JSON.stringify(observation), OBSERVATION_MEDIA_TYPE);
  }

  /**
   * Ends every client, then ends every session the scenario created (Clean Start, no expiry), so that
   * no session is left to count against a limit or hold a name.
   */
  async cleanUp(): Promise<void> {
    for (const client of this.allClients) client.close();
    // The identity that last won a session name is the one that can end it.
    const lastOwners = new Map(this.accepted.map((session) => [session.name, session]));
    for (const session of lastOwners.values()) {
      await this.pace(session.name);
      await SessionClient.end({
        url: this.url,
        ca: this.caPem,
        identity: this.identity(session.identityId),
        username: session.username,
        sessionName: session.name,
        version: session.version,
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
    }
  }
}

setWorldConstructor(ConformanceWorld);
