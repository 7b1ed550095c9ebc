// What can be learnt of a target before a run: it resolves and answers TLS with a certificate the CA
// verifies, which of the selected MQTT versions it speaks, which authentication methods it takes (the
// certificate; over MQTT 5, a custom JWT of the set's local issuer), one identity can connect and may subscribe
// and publish on its own topics (and the observer identity publish to them), how many sessions one
// authentication name may hold (not a connection cap), and the maximum session expiry the CONNACK
// reports. Every session it opens is ended before it returns.
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { UserError } from '../common/errors.ts';
import { loadPki, type LoadedIdentity } from '../certs/manifest.ts';
import { issueToken } from '../certs/tokens.ts';
import { SESSIONS_PER_NAME_RANGE } from '../eventgrid/namespace.ts';
import { everyClientsTopicsTemplate, OBSERVER, ownTopics, ownTopicsTemplate, sessionTopic } from '../eventgrid/suite-contract.ts';
import { MQTT_VERSIONS, type MqttVersion } from '../rules/catalogue.ts';
import { describeCode, NEVER_EXPIRES } from '../rules/codes.ts';
import { SessionClient, type PublishOutcome, type Refused } from '../mqtt-client/session-client.ts';
import type { TargetParameters } from '../steps/target.ts';
import { checkTarget, clientIdentity, type ServerCertificate } from './preflight.ts';
import { docsLink, toolCommand } from '../common/package.ts';

/** One more than Event Grid's documented maximum: a target that accepts this many breaks S9. */
const MAX_PROBE_SESSIONS = SESSIONS_PER_NAME_RANGE.max + 1;
const TIMEOUT_MS = 5000;

export interface ProbeResult {
  host: string;
  addresses: string[];
  server: ServerCertificate;
  identity: string;
  /** The version the probe connected with: the first selected one the target speaks. */
  version: MqttVersion;
  /** Selected versions the target does not speak, with what it answered. */
  unsupportedVersions: Partial<Record<MqttVersion, string>>;
  /**
   * Sessions one authentication name may hold. `atLeast` when no session limit was seen: none up to
   * the probe's maximum, or a refusal that was not one (a connection cap also turns other identities away).
   */
  sessionLimit: { value: number; atLeast: boolean; refusal?: string; connectionCap?: boolean };
  /** Maximum session expiry the MQTT 5 CONNACK reported, seconds; undefined when it reported none. */
  maxSessionExpirySeconds?: number;
  /**
   * Whether an MQTT 5 CONNECT with a custom JWT of the set's local issuer (CUSTOM-JWT) was accepted, and
   * what the target answered; undefined when it was not tried (MQTT 5 not spoken, or a set without an issuer).
   */
  customJwt?: { accepted: boolean; answer: string };
}

export interface ProbeOptions {
  identityId?: string;
  /** The versions the run selected (default both); MQTT 5 is tried first, as only its CONNACK reports the expiry. */
  versions?: readonly MqttVersion[];
  log?: (line: string) => void;
  /** The clock the client certificates' validity is judged by. */
  now?: Date;
}

/** Why an identity's certificate cannot connect today (expired, not yet valid), or undefined. */
export function certificateValidityProblem(identity: LoadedIdentity, now: Date): string | undefined {
  const { id, notBefore, notAfter } = identity.entry;
  if (Date.parse(notAfter) < now.getTime()) {
    return `the client certificate of identity "${id}" expired on ${notAfter}: make a new set with \`${toolCommand('certs', '--renew')}\`, then register its CA and thumbprints on the namespace (\`${toolCommand('provision')}\` writes the commands)`;
  }
  if (Date.parse(notBefore) > now.getTime()) return `the client certificate of identity "${id}" is not valid before ${notBefore}: is this machine's clock right?`;
  return undefined;
}

/** Registration is the likely cause only of a refusal that speaks of authorization. */
const AUTHORIZATION_REFUSALS = new Set([0x86, 0x87, 4, 5]);

/** What a CONNECT that was not accepted says about the target, naming the likely cause. */
export function explainNotConnected(where: string, identity: LoadedIdentity, outcome: { code?: number; reasonString?: string; message: string }, version: MqttVersion = '5'): string {
  const who = `identity "${identity.entry.id}" (authentication name "${identity.entry.authenticationName}")`;
  if (outcome.code !== undefined) {
    const refusal = `${describeCode(version, outcome.code)}${outcome.reasonString ? ` (${outcome.reasonString})` : ''}`;
    if (AUTHORIZATION_REFUSALS.has(outcome.code)) {
      return `${who} was refused over MQTT ${version}: ${refusal}; is it registered on the namespace with this certificate? (${toolCommand('provision')} writes the commands)`;
    }
    return `${who} was refused over MQTT ${version}: ${refusal}`;
  }
  if (outcome.message === 'connack timeout' || outcome.message.startsWith('timed out')) {
    return `${where} completed TLS but sent no CONNACK within ${TIMEOUT_MS / 1000} s: is an MQTT broker listening on this port?`;
  }
  if (outcome.message === 'the connection closed with no CONNACK') {
    return `${where} completed TLS, then closed the connection after an MQTT ${version} CONNECT with no CONNACK: is an MQTT broker listening on this port?`;
  }
  return `${where} completed TLS but did not answer CONNECT as an MQTT broker (${outcome.message})`;
}

/** A CONNACK that says the server does not speak the version of the CONNECT. */
function refusesVersion(outcome: Refused, version: MqttVersion): boolean {
  // A 3.1.1-only server answers an MQTT 5 CONNECT with its own return code 1.
  return version === '5' ? outcome.code === 0x84 || outcome.code === 1 : outcome.code === 1;
}

function describeRefusal(outcome: Refused, version: MqttVersion): string {
  const code = outcome.code === undefined ? 'the connection closed with no CONNACK' : describeCode(version, outcome.code);
  return `${code}${outcome.reasonString ? ` (${outcome.reasonString})` : ''}`;
}

export async function probeTarget(target: TargetParameters, options: ProbeOptions = {}): Promise<ProbeResult> {
  const log = options.log ?? (() => {});
  const host = new URL(target.url).hostname.replace(/^\[|\]$/g, '');
  const addresses = await lookup(host, { all: true }).then(
    (found) => found.map((entry) => entry.address),
    (error: NodeJS.ErrnoException) => {
      throw new UserError(`${host} does not resolve (${error.code}): check the host name in the target URL`);
    },
  );
  log(`DNS       ${host} -> ${addresses.join(', ')}`);
  const server = await checkTarget(target);
  log(`TLS       server certificate ${server.subject}, issued by ${server.issuer}, valid until ${server.validTo}; verifies against ${target.caFile}`);

  const identity = clientIdentity(target, options.identityId);
  const unusable = certificateValidityProblem(identity, options.now ?? new Date());
  if (unusable) throw new UserError(unusable);
  const ca = readFileSync(target.caFile, 'utf8');
  const where = `${host}:${new URL(target.url).port || 8883}`;
  const prefix = `mmc-probe-${Math.random().toString(36).slice(2, 8)}-`;
  const open: SessionClient[] = [];
  const connect = (version: MqttVersion, index: number, sessionExpiry: number, who = identity) =>
    SessionClient.connect({ url: target.url, ca, identity: who, sessionName: `${prefix}${index}`, version, sessionExpiry, timeoutMs: TIMEOUT_MS }).catch(
      (error: Error) => {
        throw new UserError(explainNotConnected(where, identity, { message: error.message }, version));
      },
    );
  const unsupportedVersions: ProbeResult['unsupportedVersions'] = {};
  let version: MqttVersion | undefined;
  try {
    const selected = options.versions ?? MQTT_VERSIONS;
    // Every selected version is tried (MQTT 5 first): the run covers those the target speaks. A version
    // it refuses as such (0x84, or 3.1.1's return code 1), or leaves unanswered (a 3.1.1-only broker
    // may never answer an MQTT 5 CONNECT), is not spoken, once another version is; with none, the
    // first version's answer says what is wrong.
    const unanswered: { candidate: MqttVersion; outcome: Refused }[] = [];
    for (const candidate of (['5', '3.1.1'] as const).filter((version) => selected.includes(version))) {
      // The first: asking for "never expires" makes a namespace with a maximum report it in the CONNACK
      // (L1), and it is held for the probe. Another: a session of its own that ends with its connection.
      const first = version
        ? await SessionClient.connect({ url: target.url, ca, identity, sessionName: `${prefix}${candidate}`, version: candidate, cleanStart: true, sessionExpiry: 0, timeoutMs: TIMEOUT_MS }).catch((error: Error): Refused => ({ accepted: false, message: error.message }))
        : await SessionClient.connect({ url: target.url, ca, identity, sessionName: `${prefix}1`, version: candidate, sessionExpiry: NEVER_EXPIRES, timeoutMs: TIMEOUT_MS }).catch((error: Error): Refused => ({ accepted: false, message: error.message }));
      if (first.accepted) {
        if (version) await first.client.disconnect().catch(() => first.client.close());
        else {
          open.push(first.client);
          version = candidate;
        }
        continue;
      }
      if (first.code !== undefined && refusesVersion(first, candidate)) {
        unsupportedVersions[candidate] = `the target does not speak MQTT ${candidate}: it answered ${describeRefusal(first, candidate)}`;
      } else if (first.message === 'the connection closed with no CONNACK' || first.message.startsWith('timed out') || first.message === 'connack timeout') {
        unanswered.push({ candidate, outcome: first });
        const silence = first.message === 'the connection closed with no CONNACK' ? 'no CONNACK: the connection was closed' : `no CONNACK within ${TIMEOUT_MS / 1000} s`;
        unsupportedVersions[candidate] = `the target does not speak MQTT ${candidate}: an MQTT ${candidate} CONNECT got ${silence}`;
      } else throw new UserError(explainNotConnected(where, identity, first, candidate));
    }
    if (!version) {
      const [silent] = unanswered;
      if (silent && unanswered.length === Object.keys(unsupportedVersions).length) throw new UserError(explainNotConnected(where, identity, silent.outcome, silent.candidate));
      throw new UserError(`the target speaks none of the selected MQTT versions: ${Object.values(unsupportedVersions).join('; ')}`);
    }
    const spoken = (['5', '3.1.1'] as const).filter((candidate) => selected.includes(candidate) && !unsupportedVersions[candidate]);
    const unspoken = Object.entries(unsupportedVersions).map(([candidate, why]) => `not MQTT ${candidate} (${why.replace(/^the target does not speak MQTT \S+: /, '')})`);
    log(`versions  MQTT ${spoken.join(' and ')}${unspoken.length ? `, ${unspoken.join(', ')}: the run covers MQTT ${spoken.join(' and ')} only` : ''}`);
    const reported = version === '5' ? (open[0]!.connackProperties.sessionExpiryInterval as number | undefined) : undefined;
    log(`identity  ${identity.entry.id} connected over MQTT ${version} as "${identity.entry.authenticationName}"`);
    if (version === '5') {
      log(`expiry    ${reported === undefined ? 'the CONNACK reported no maximum session expiry' : `maximum session expiry ${reported} s (the CONNACK lowered ${NEVER_EXPIRES})`}`);
    }
    const customJwt = version === '5' ? await probeCustomJwt(target, ca, identity, `${prefix}jwt`) : undefined;
    log(`methods   X.509 certificate: accepted${customJwt ? `; CUSTOM-JWT (a token of the set's local issuer): ${customJwt.answer}` : ''}`);
    await checkAccess(open[0]!, target, identity, version, `${prefix}probe`, log);
    await checkObserverAccess(open[0]!, target, ca, identity, version, `${prefix}probe`, log);

    // A declared limit needs only one session past it to be checked; otherwise Event Grid's maximum and one more.
    const probeUpTo = target.sessionLimitKnown ? Math.min(MAX_PROBE_SESSIONS, target.sessionLimit + 1) : MAX_PROBE_SESSIONS;
    let sessionLimit: ProbeResult['sessionLimit'] = { value: probeUpTo, atLeast: true };
    for (let index = 2; index <= probeUpTo; index += 1) {
      // No expiry: these sessions end with their connections.
      const next = await connect(version, index, 0);
      if (next.accepted) {
        open.push(next.client);
        continue;
      }
      const refusal = describeRefusal(next, version);
      // A session limit turns away this name only; a connection cap turns every identity away.
      const other = await connect(version, MAX_PROBE_SESSIONS + 1, 0, otherIdentity(target, identity));
      if (other.accepted) await other.client.disconnect().catch(() => other.client.close());
      sessionLimit = { value: index - 1, atLeast: !other.accepted, refusal, ...(other.accepted ? {} : { connectionCap: true }) };
      break;
    }
    log(`sessions  ${describeSessionLimit(sessionLimit)}`);
    return {
      host,
      addresses,
      server,
      identity: identity.entry.id,
      version,
      unsupportedVersions,
      sessionLimit,
      ...(reported === undefined ? {} : { maxSessionExpirySeconds: reported }),
      ...(customJwt ? { customJwt } : {}),
    };
  } finally {
    // A DISCONNECT, so that the target frees them before the run needs the sessions back.
    await Promise.all(open.slice(1).map((client) => client.disconnect().catch(() => client.close())));
    open[0]?.close();
    if (version) await endProbeSession(target, ca, identity, `${prefix}1`, version);
  }
}

function describeSessionLimit(limit: ProbeResult['sessionLimit']): string {
  if (limit.connectionCap) {
    return `limited by connections, ${limit.value}: after ${limit.value} connections the target refused another identity too (${limit.refusal}), a connection cap rather than a limit per authentication name`;
  }
  if (!limit.refusal && limit.value <= SESSIONS_PER_NAME_RANGE.max) return `no limit up to ${limit.value} per authentication name, one more than the declared limit`;
  if (!limit.refusal) return `no limit up to ${limit.value} per authentication name, more than Event Grid's maximum of ${SESSIONS_PER_NAME_RANGE.max}`;
  return `${limit.value} per authentication name (session ${limit.value + 1} was refused: ${limit.refusal})`;
}

/** A second identity that should connect as readily as the first, to tell a session limit from a connection cap. */
function otherIdentity(target: TargetParameters, first: LoadedIdentity): LoadedIdentity {
  const identities = [...loadPki(target.identitiesDir).identities.values()];
  return identities.find((candidate) => candidate.entry.role === 'client' && candidate.entry.id !== first.entry.id && candidate.entry.validationScheme === first.entry.validationScheme) ?? first;
}

export interface DeclaredLimits {
  /** The target file's namespace.customJwt. */
  tokenIssuerTrusted?: boolean;
  sessionLimit?: number;
  maxSessionExpirySeconds?: number;
}

const ACCESS_DOCS = `see ${docsLink('access-control.md')}; ${toolCommand('provision')} writes the bindings`;

/** "SUBACK 0x87 Not authorized" (MQTT 5) or "SUBACK 0x80 (Failure)" (3.1.1, its only failure code). */
function describeSuback(code: number | undefined, version: MqttVersion): string {
  if (code === undefined) return 'SUBACK without a code';
  return version === '5' ? `SUBACK ${describeCode('5', code)}` : `SUBACK 0x${code.toString(16)}${code === 0x80 ? ' (Failure)' : ''}`;
}

/** A PUBACK's refusal (MQTT 5), or what happened instead (3.1.1 has no refusing PUBACK: the connection closes). */
function describePublished(published: PublishOutcome, version: MqttVersion): string {
  return published.acknowledged ? `PUBACK ${describeCode(version, published.reasonCode)}` : published.message;
}

/**
 * A subscribe-and-publish round trip on the identity's own topic, as every scenario makes one: a
 * namespace without the suite's permission bindings would fail nearly every rule for a reason that
 * has nothing to do with sessions, so it stops the run here, in one line.
 */
async function checkAccess(client: SessionClient, target: TargetParameters, identity: LoadedIdentity, version: MqttVersion, leaf: string, log: (line: string) => void): Promise<void> {
  const { id, authenticationName } = identity.entry;
  const topic = sessionTopic(target.topicRoot, authenticationName, leaf);
  const grant = (role: string) => `grant its client group the ${role} role on a topic space with the template "${ownTopicsTemplate(target.topicRoot)}" (${ACCESS_DOCS})`;
  const code = await client.subscribeCode(topic, 1).catch((error: Error) => {
    throw new UserError(`identity ${id} got no answer to a SUBSCRIBE to ${topic}: ${error.message}`);
  });
  if (code === undefined || code >= 0x80) {
    throw new UserError(`identity ${id} may not subscribe to ${topic} (${describeSuback(code, version)}): ${grant('Subscriber')}`);
  }
  const published = await client.tryPublish(topic, 'probe');
  if (!published.acknowledged || published.reasonCode >= 0x80) {
    throw new UserError(`identity ${id} may not publish to ${topic} (${describePublished(published, version)}): ${grant('Publisher')}`);
  }
  await client.nextMessage(topic, TIMEOUT_MS).catch(() => {
    throw new UserError(`identity ${id} subscribed to and published on ${topic}, but the message never arrived: check the namespace's routing and permission bindings (${ACCESS_DOCS})`);
  });
  log(`access    ${id} may subscribe and publish under ${ownTopics(target.topicRoot, authenticationName)}`);
}

/**
 * The scenarios' messages come from the observer identity, published on every client's topics: check
 * it may, with a message to the probing identity.
 */
async function checkObserverAccess(
  receiver: SessionClient,
  target: TargetParameters,
  ca: string,
  identity: LoadedIdentity,
  version: MqttVersion,
  leaf: string,
  log: (line: string) => void,
): Promise<void> {
  // Checked when the PKI has it (a PKI of the suite's own always does).
  const observer = loadPki(target.identitiesDir).identities.get(OBSERVER);
  if (!observer || observer.entry.id === identity.entry.id) return;
  const topic = sessionTopic(target.topicRoot, identity.entry.authenticationName, leaf);
  if (target.pace) await new Promise((resolve) => setTimeout(resolve, 1000));
  const outcome = await SessionClient.connect({ url: target.url, ca, identity: observer, sessionName: `${leaf}-observer`, version, cleanStart: true, sessionExpiry: 0, timeoutMs: TIMEOUT_MS });
  if (!outcome.accepted) throw new UserError(explainNotConnected(target.url, observer, outcome, version));
  try {
    const published = await outcome.client.tryPublish(topic, 'from the observer');
    if (!published.acknowledged || published.reasonCode >= 0x80) {
      throw new UserError(
        `identity ${OBSERVER} may not publish to ${topic} (${describePublished(published, version)}): grant its client group the Publisher role on a topic space with the template "${everyClientsTopicsTemplate(target.topicRoot)}" (${ACCESS_DOCS})`,
      );
    }
    await receiver.nextMessage(topic, TIMEOUT_MS).catch(() => {
      throw new UserError(`identity ${OBSERVER} published on ${topic}, but identity ${identity.entry.id} never received it (${ACCESS_DOCS})`);
    });
    log(`access    ${OBSERVER} may publish to ${identity.entry.id}'s topics`);
  } finally {
    await outcome.client.disconnect().catch(() => outcome.client.close());
  }
}

/**
 * The parameters a run uses after a probe. What was declared wins (the scenarios then check the target
 * against it); otherwise a session limit the probe saw enforced; otherwise Event Grid's documented
 * maximum, so that a target capping nothing fails S9. A maximum expiry the target reports is judged
 * against Event Grid's range, not taken as the expected value. Assumptions are noted.
 */
export function applyProbe(parameters: TargetParameters, declared: DeclaredLimits, probe: ProbeResult, note: (line: string) => void): TargetParameters {
  const observed = probe.sessionLimit;
  if (declared.sessionLimit !== undefined && !observed.atLeast && declared.sessionLimit !== observed.value) {
    note(`note: the session limit is declared ${declared.sessionLimit}, the target enforces ${observed.value}`);
  }
  if (declared.maxSessionExpirySeconds !== undefined && probe.maxSessionExpirySeconds !== undefined && declared.maxSessionExpirySeconds !== probe.maxSessionExpirySeconds) {
    note(`note: the maximum session expiry is declared ${declared.maxSessionExpirySeconds} s, the target reports ${probe.maxSessionExpirySeconds} s`);
  }
  let sessionLimit = declared.sessionLimit ?? (observed.atLeast ? SESSIONS_PER_NAME_RANGE.max : observed.value);
  if (declared.sessionLimit === undefined && observed.atLeast && !observed.connectionCap) {
    note(`note: assumed session limit ${sessionLimit}, Event Grid's documented maximum (declare --session-limit for your namespace's)`);
  }
  // A connection cap learned, and no limit declared: S9 runs, and is judged "limited by connections".
  const connectionCap = observed.connectionCap && declared.sessionLimit === undefined ? observed.value : undefined;
  if (connectionCap !== undefined) sessionLimit = connectionCap;
  const expiry = declared.maxSessionExpirySeconds ?? probe.maxSessionExpirySeconds;
  if (expiry === undefined) note(`note: assumed maximum session expiry ${parameters.maxSessionExpirySeconds} s for the 3.1.1 expiry wait (nothing declared, none reported)`);
  const unsupported = Object.entries(probe.unsupportedVersions) as [MqttVersion, string][];
  // A target file's word on custom JWT wins; otherwise what the probe saw.
  const tokenIssuerTrusted = declared.tokenIssuerTrusted ?? probe.customJwt?.accepted ?? false;
  if (declared.tokenIssuerTrusted !== undefined && probe.customJwt && declared.tokenIssuerTrusted !== probe.customJwt.accepted) {
    note(`note: the target file says customJwt ${declared.tokenIssuerTrusted}, the target ${probe.customJwt.answer} a token of the set's issuer`);
  }
  return {
    ...parameters,
    tokenIssuerTrusted,
    sessionLimit,
    sessionLimitKnown: true,
    ...(connectionCap === undefined ? {} : { connectionCap }),
    maxSessionExpirySeconds: expiry ?? parameters.maxSessionExpirySeconds,
    maxSessionExpiryDeclared: declared.maxSessionExpirySeconds !== undefined,
    unsupportedVersions: { ...parameters.unsupportedVersions, ...Object.fromEntries(unsupported) },
  };
}

/** An MQTT 5 CONNECT with a token of the set's local issuer for the identity, and no certificate: whether it is taken. */
async function probeCustomJwt(target: TargetParameters, ca: string, identity: LoadedIdentity, sessionName: string): Promise<ProbeResult['customJwt']> {
  const pki = loadPki(target.identitiesDir);
  if (!pki.manifest.ca.tokenIssuer) return undefined;
  const data = await issueToken(pki, { identity: identity.entry.id });
  const outcome = await SessionClient.connect({ url: target.url, ca, identity, sessionName, version: '5', cleanStart: true, sessionExpiry: 0, timeoutMs: TIMEOUT_MS, token: { method: 'CUSTOM-JWT', data } }).catch(
    (error: Error) => ({ accepted: false as const, message: error.message }),
  );
  if (!outcome.accepted) return { accepted: false, answer: `refused, ${describeRefusal(outcome, '5')}` };
  await outcome.client.disconnect().catch(() => outcome.client.close());
  return { accepted: true, answer: 'accepted' };
}

/** Ends the long-lived first session: Clean Start with no expiry, a second later (Event Grid's pacing). */
async function endProbeSession(target: TargetParameters, ca: string, identity: LoadedIdentity, sessionName: string, version: MqttVersion): Promise<void> {
  if (target.pace) await new Promise((resolve) => setTimeout(resolve, 1000));
  await SessionClient.end({ url: target.url, ca, identity, sessionName, version, timeoutMs: TIMEOUT_MS });
}
