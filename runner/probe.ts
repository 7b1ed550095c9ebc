// What can be learnt of a target before a run: it resolves and answers TLS with a certificate the CA
// verifies, one identity can connect and may subscribe and publish on its own topics, how many sessions one authentication name may hold, and the
// maximum session expiry the CONNACK reports. Every session it opens is ended before it returns.
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { UserError } from '../common/errors.ts';
import { loadPki, type LoadedIdentity } from '../certs/manifest.ts';
import { describeCode, NEVER_EXPIRES, REFUSAL } from '../rules/codes.ts';
import { SessionClient } from '../mqtt-client/session-client.ts';
import type { TargetParameters } from '../steps/target.ts';
import { checkTarget, clientIdentity, type ServerCertificate } from './preflight.ts';

/** Enough to tell whether the suite can test multiple sessions and the limit, and gentle on a namespace. */
const MAX_PROBE_SESSIONS = 10;
const TIMEOUT_MS = 5000;

export interface ProbeResult {
  host: string;
  addresses: string[];
  server: ServerCertificate;
  identity: string;
  /** Sessions one authentication name may hold; `atLeast` when no refusal came before the probe stopped. */
  sessionLimit: { value: number; atLeast: boolean; refusal?: string };
  /** Maximum session expiry the CONNACK reported, seconds; undefined when it reported none. */
  maxSessionExpirySeconds?: number;
}

export async function probeTarget(target: TargetParameters, options: { identityId?: string; log?: (line: string) => void } = {}): Promise<ProbeResult> {
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
  const ca = readFileSync(target.caFile, 'utf8');
  const prefix = `mmc-probe-${Math.random().toString(36).slice(2, 8)}-`;
  const open: SessionClient[] = [];
  const connect = (index: number, sessionExpiry: number) =>
    SessionClient.connect({ url: target.url, ca, identity, sessionName: `${prefix}${index}`, version: '5', sessionExpiry, timeoutMs: TIMEOUT_MS }).catch(
      (error: Error) => {
        throw new UserError(`the target did not answer a CONNECT as an MQTT broker: ${error.message}`);
      },
    );
  try {
    // Asking for "never expires" makes a namespace with a maximum report it in the CONNACK (L1).
    const first = await connect(1, NEVER_EXPIRES);
    if (!first.accepted) {
      const code = first.code === undefined ? 'the connection closed with no CONNACK' : describeCode('5', first.code);
      throw new UserError(
        `identity "${identity.entry.id}" (authentication name "${identity.entry.authenticationName}") was refused: ${code}${first.reasonString ? ` (${first.reasonString})` : ''}; is it registered on the namespace with this certificate? (npm run provision writes the commands)`,
      );
    }
    open.push(first.client);
    await checkAccess(first.client, target, identity, `${prefix}probe`, log);
    await checkObserverAccess(first.client, target, ca, identity, `${prefix}probe`, log);
    const reported = first.client.connackProperties.sessionExpiryInterval as number | undefined;
    log(`identity  ${identity.entry.id} connected over MQTT 5 as "${identity.entry.authenticationName}"`);
    log(`expiry    ${reported === undefined ? 'the CONNACK reported no maximum session expiry' : `maximum session expiry ${reported} s (the CONNACK lowered ${NEVER_EXPIRES})`}`);

    let sessionLimit: ProbeResult['sessionLimit'] = { value: MAX_PROBE_SESSIONS, atLeast: true };
    for (let index = 2; index <= MAX_PROBE_SESSIONS; index += 1) {
      // No expiry: these sessions end with their connections.
      const next = await connect(index, 0);
      if (!next.accepted) {
        const refusal = next.code === undefined ? 'no CONNACK' : describeCode('5', next.code);
        // Only Quota exceeded speaks of the limit; any other refusal leaves it unknown.
        sessionLimit = { value: index - 1, atLeast: next.code !== REFUSAL.quotaExceeded.reasonCode, refusal };
        break;
      }
      open.push(next.client);
    }
    const count = `${sessionLimit.atLeast ? 'at least ' : ''}${sessionLimit.value} per authentication name`;
    log(`sessions  ${count} (${sessionLimit.refusal ? `session ${sessionLimit.value + 1} was refused: ${sessionLimit.refusal}` : `the probe stops at ${MAX_PROBE_SESSIONS}`})`);
    return { host, addresses, server, identity: identity.entry.id, sessionLimit, ...(reported === undefined ? {} : { maxSessionExpirySeconds: reported }) };
  } finally {
    // A DISCONNECT, so that the target frees them before the run needs the sessions back.
    await Promise.all(open.slice(1).map((client) => client.disconnect().catch(() => client.close())));
    open[0]?.close();
    await endProbeSession(target, ca, identity, `${prefix}1`);
  }
}

const ACCESS_DOCS = 'see docs/access-control.md; npm run provision writes the bindings';

/**
 * A subscribe-and-publish round trip on the identity's own topic, as every scenario makes one: a
 * namespace without the suite's permission bindings would fail nearly every rule for a reason that
 * has nothing to do with sessions, so it stops the run here, in one line.
 */
async function checkAccess(client: SessionClient, target: TargetParameters, identity: LoadedIdentity, leaf: string, log: (line: string) => void): Promise<void> {
  const { id, authenticationName } = identity.entry;
  const topic = `${target.topicRoot}/${authenticationName}/${leaf}/inbox`;
  const template = `${target.topicRoot}/\${client.authenticationName}/#`;
  const grant = (role: string) => `grant its client group the ${role} role on a topic space with the template "${template}" (${ACCESS_DOCS})`;
  const code = await client.trySubscribe(topic, 1).catch((error: Error) => {
    throw new UserError(`identity ${id} got no answer to a SUBSCRIBE to ${topic}: ${error.message}`);
  });
  if (code === undefined || code >= 0x80) {
    throw new UserError(`identity ${id} may not subscribe to ${topic} (SUBACK ${code === undefined ? 'without a code' : describeCode('5', code)}): ${grant('Subscriber')}`);
  }
  const published = await client.tryPublish(topic, 'probe');
  if (!published.acknowledged || published.reasonCode >= 0x80) {
    const answer = published.acknowledged ? `PUBACK ${describeCode('5', published.reasonCode)}` : published.message;
    throw new UserError(`identity ${id} may not publish to ${topic} (${answer}): ${grant('Publisher')}`);
  }
  await client.nextMessage(topic, TIMEOUT_MS).catch(() => {
    throw new UserError(`identity ${id} subscribed to and published on ${topic}, but the message never arrived: check the namespace's routing and permission bindings (${ACCESS_DOCS})`);
  });
  log(`access    ${id} may subscribe and publish under ${target.topicRoot}/${authenticationName}/`);
}

/** The identity the scenarios publish to sessions with, when the PKI has it. */
const OBSERVER = 'observer';

/**
 * The scenarios' messages come from the observer identity, published on every client's topics: check
 * it may, with a message to the probing identity.
 */
async function checkObserverAccess(receiver: SessionClient, target: TargetParameters, ca: string, identity: LoadedIdentity, leaf: string, log: (line: string) => void): Promise<void> {
  const observer = loadPki(target.identitiesDir).identities.get(OBSERVER);
  if (!observer || observer.entry.id === identity.entry.id) return;
  const topic = `${target.topicRoot}/${identity.entry.authenticationName}/${leaf}/inbox`;
  if (target.pace) await new Promise((resolve) => setTimeout(resolve, 1000));
  const outcome = await SessionClient.connect({ url: target.url, ca, identity: observer, sessionName: `${leaf}-observer`, version: '5', cleanStart: true, sessionExpiry: 0, timeoutMs: TIMEOUT_MS });
  if (!outcome.accepted) {
    const code = outcome.code === undefined ? 'the connection closed with no CONNACK' : describeCode('5', outcome.code);
    throw new UserError(`identity ${OBSERVER} (authentication name "${observer.entry.authenticationName}") was refused: ${code}; is it registered on the namespace with this certificate? (npm run provision writes the commands)`);
  }
  try {
    const published = await outcome.client.tryPublish(topic, 'from the observer');
    if (!published.acknowledged || published.reasonCode >= 0x80) {
      const answer = published.acknowledged ? `PUBACK ${describeCode('5', published.reasonCode)}` : published.message;
      throw new UserError(
        `identity ${OBSERVER} may not publish to ${topic} (${answer}): grant its client group the Publisher role on a topic space with the template "${target.topicRoot}/+/#" (${ACCESS_DOCS})`,
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
 * The parameters a run uses after a probe: what was declared wins (the scenarios then check the target
 * against it), what the probe observed fills the gaps; a difference is noted.
 */
export function applyProbe(parameters: TargetParameters, declared: { sessionLimit?: number; maxSessionExpirySeconds?: number }, probe: ProbeResult, note: (line: string) => void): TargetParameters {
  const observed = probe.sessionLimit;
  if (declared.sessionLimit !== undefined && !observed.atLeast && declared.sessionLimit !== observed.value) {
    note(`note: the session limit is declared ${declared.sessionLimit}, the target enforces ${observed.value}`);
  }
  if (declared.maxSessionExpirySeconds !== undefined && probe.maxSessionExpirySeconds !== undefined && declared.maxSessionExpirySeconds !== probe.maxSessionExpirySeconds) {
    note(`note: the maximum session expiry is declared ${declared.maxSessionExpirySeconds} s, the target reports ${probe.maxSessionExpirySeconds} s`);
  }
  return {
    ...parameters,
    sessionLimit: declared.sessionLimit ?? observed.value,
    sessionLimitKnown: declared.sessionLimit !== undefined || !observed.atLeast,
    maxSessionExpirySeconds: declared.maxSessionExpirySeconds ?? probe.maxSessionExpirySeconds ?? parameters.maxSessionExpirySeconds,
  };
}

/** Ends the long-lived first session: Clean Start with no expiry, a second later (Event Grid's pacing). */
async function endProbeSession(target: TargetParameters, ca: string, identity: LoadedIdentity, sessionName: string): Promise<void> {
  if (target.pace) await new Promise((resolve) => setTimeout(resolve, 1000));
  await SessionClient.end({ url: target.url, ca, identity, sessionName, version: '5', timeoutMs: TIMEOUT_MS });
}
