// The namespace's rules, decided in memory with an injected clock: the policy's CONNECT decision, the
// certificate authenticator's answer and the in-memory session store, every rule id, both MQTT versions.
import { describe, expect, it } from 'vitest';
import { parseNamespace, type NamespaceInput } from '../eventgrid/namespace.ts';
import { MemorySessionStore } from './adapters/memory-session-store.ts';
import type { ConnectRequest, Decision } from './policy/behaviour.ts';
import { ConnectPolicy } from './policy/connect.ts';
import { authenticateByCertificate } from './policy/identity.ts';
import { mutatedBehaviour } from './policy/mutants.ts';
import type { PresentedCertificate } from './policy/presented.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-27T12:00:00Z');

function certificate(fields: Partial<PresentedCertificate> = {}): PresentedCertificate {
  return {
    commonNames: [],
    dns: [],
    uri: [],
    ip: [],
    email: [],
    thumbprint: 'A'.repeat(64),
    notBefore: new Date(T0 - HOUR),
    notAfter: new Date(T0 + 1000 * HOUR),
    clientAuthAllowed: true,
    chainsToRegisteredCa: true,
    ...fields,
  };
}

const CERTS = {
  alpha: certificate({ commonNames: ['alpha'] }),
  beta: certificate({ commonNames: ['beta'] }),
  alphaUpper: certificate({ commonNames: ['ALPHA'] }),
  dns: certificate({ commonNames: ['something-else'], dns: ['dev.example.test'] }),
  thumb: certificate({ commonNames: ['thumb'], thumbprint: 'B'.repeat(64), chainsToRegisteredCa: false }),
  disabled: certificate({ commonNames: ['off'] }),
};

const NAMESPACE: NamespaceInput = {
  topicSpacesConfiguration: { maximumClientSessionsPerAuthenticationName: 2, maximumSessionExpiryInHours: 1 },
  clients: [
    { name: 'alpha', authenticationName: 'alpha' },
    { name: 'beta', authenticationName: 'beta' },
    { name: 'dns', authenticationName: 'dev.example.test', clientCertificateAuthentication: { validationScheme: 'DnsMatchesAuthenticationName' } },
    { name: 'thumb', authenticationName: 'thumb', clientCertificateAuthentication: { validationScheme: 'ThumbprintMatch', allowedThumbprints: ['b'.repeat(64)] } },
    { name: 'off', authenticationName: 'off', state: 'Disabled' },
  ],
};

/** A namespace with a hand-turned clock; `connect` decides and, when accepted, binds as the adapter does. */
function namespace(overrides: Partial<NamespaceInput> = {}, mutants: string[] = []) {
  let now = T0;
  let nextConnection = 1;
  const registry = new MemorySessionStore(() => now);
  const config = parseNamespace({ ...NAMESPACE, ...overrides });
  const behaviour = mutatedBehaviour(mutants);
  const policy = new ConnectPolicy(config, behaviour);
  return {
    registry,
    advance: (ms: number) => (now += ms),
    async connect(version: 4 | 5, certificate: PresentedCertificate | undefined, request: Partial<Omit<ConnectRequest, 'authentication'>>) {
      const asked = { protocolVersion: version, clientId: 'session', cleanStart: false, ...request };
      // As the broker does: the certificate authenticator's answer goes into the CONNECT decision, made on a view of the sessions.
      const authentication = authenticateByCertificate({ clientId: asked.clientId, username: asked.username, certificate }, new Date(now), config, behaviour);
      const view = await registry.view(asked.clientId, authentication.identity?.client.name ?? '');
      const decision = policy.decide({ ...asked, authentication }, new Date(now), view);
      const connectionId = nextConnection++;
      if (decision.accept && (await registry.claim(view, connectionId, decision.grant.expirySeconds, behaviour.sessionLimit(config))) === 'conflict') {
        throw new Error('the claim conflicted with no other CONNECT under way');
      }
      return { decision, connectionId };
    },
  };
}

function refusal(decision: Decision) {
  if (decision.accept) throw new Error(`expected a refusal, got ${JSON.stringify(decision.grant)}`);
  return { rule: decision.refusal.rule, ...decision.refusal.code };
}

function grant(decision: Decision) {
  if (!decision.accept) throw new Error(`expected acceptance, got ${decision.refusal.rule}: ${decision.refusal.reason}`);
  return decision.grant;
}

const NOT_AUTHORIZED = { reasonCode: 0x87, returnCode: 5 };
const BAD_CREDENTIALS = { reasonCode: 0x86, returnCode: 4 };

describe.each([4, 5] as const)('MQTT protocol level %i', (version) => {
  const persistent = version === 5 ? { sessionExpiryInterval: 600 } : {};

  it('S1/S2: one identity and one certificate hold two sessions under different ClientIDs', async () => {
    const ns = namespace();
    grant((await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's1' })).decision);
    grant((await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's2' })).decision);
    expect([(await ns.registry.find('s1'))?.owner, (await ns.registry.find('s2'))?.owner]).toEqual(['alpha', 'alpha']);
  });

  it('S3: without a Username the ClientID is the authentication name, so a second session has no identity', async () => {
    const ns = namespace();
    expect(grant((await ns.connect(version, CERTS.alpha, { clientId: 'alpha' })).decision).nameSource).toBe('clientId');
    expect(refusal((await ns.connect(version, CERTS.alpha, { clientId: 'alpha-2' })).decision).rule).toBe('A2');
  });

  it('S4: an empty ClientID is refused as not valid, with or without a Username', async () => {
    const ns = namespace();
    for (const username of ['alpha', undefined]) {
      expect(refusal((await ns.connect(version, CERTS.alpha, { username, clientId: '' })).decision)).toEqual({
        rule: 'S4',
        reasonCode: 0x85,
        returnCode: 2,
      });
    }
  });

  it('S5/S6: another identity presenting an active session name is refused as not authorized', async () => {
    const ns = namespace();
    const owner = await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's1' });
    expect(refusal((await ns.connect(version, CERTS.beta, { username: 'beta', clientId: 's1' })).decision)).toEqual({ rule: 'S6', ...NOT_AUTHORIZED });
    expect((await ns.registry.find('s1'))).toMatchObject({ owner: 'alpha', connectionId: owner.connectionId });
  });

  it('S7: a session left without ending stays locked to its owner until it expires, then is free', async () => {
    const ns = namespace();
    const owner = await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's1', ...persistent });
    const expiry = grant(owner.decision).expirySeconds;
    expect((await ns.registry.close('s1', owner.connectionId))).toBe('held');
    ns.advance(expiry * 1000 - 1);
    expect(refusal((await ns.connect(version, CERTS.beta, { username: 'beta', clientId: 's1' })).decision)).toEqual({ rule: 'S7', ...NOT_AUTHORIZED });
    ns.advance(1);
    expect((await ns.registry.sweep()).map((s) => s.name)).toEqual(['s1']);
    expect(grant((await ns.connect(version, CERTS.beta, { username: 'beta', clientId: 's1' })).decision).sessionPresent).toBe(false);
  });

  it('S8: the same identity reconnecting takes its session over, and the session is present', async () => {
    const ns = namespace();
    const first = await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's1', ...persistent });
    const second = grant((await ns.connect(version, CERTS.alphaUpper, { username: 'ALPHA', clientId: 's1', ...persistent })).decision);
    expect(second).toMatchObject({ takesOver: true, sessionPresent: true, discardPrevious: false });
    expect((await ns.registry.close('s1', first.connectionId))).toBe('stale');
  });

  it('S9: sessions per authentication name, online and offline, stop at the limit with quota exceeded', async () => {
    const ns = namespace();
    const first = await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's1', ...persistent });
    await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's2' });
    await ns.registry.close('s1', first.connectionId);
    expect(refusal((await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's3' })).decision)).toEqual({
      rule: 'S9',
      reasonCode: 0x97,
      returnCode: 3,
    });
    // Resuming a session it holds is not a new one.
    grant((await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's1' })).decision);
  });

  it('L1: the session expiry in force is capped at the namespace maximum', async () => {
    const ns = namespace({ reference: { maximumSessionExpiryInSeconds: 30 } });
    const requested = version === 5 ? { sessionExpiryInterval: 3600 } : {};
    expect(grant((await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's1', ...requested })).decision)).toMatchObject({
      expirySeconds: 30,
      expiryCapped: version === 5,
    });
    const transient = grant((await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's2', cleanStart: true })).decision);
    expect(transient.expirySeconds).toBe(0);
  });

  it('L2/L3: a persistent session resumes; Clean Start discards it', async () => {
    const ns = namespace();
    const first = await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's1', ...persistent });
    await ns.registry.close('s1', first.connectionId);
    const resumed = await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's1', ...persistent });
    expect(grant(resumed.decision)).toMatchObject({ sessionPresent: true, discardPrevious: false });
    await ns.registry.close('s1', resumed.connectionId);
    const clean = grant((await ns.connect(version, CERTS.alpha, { username: 'alpha', clientId: 's1', cleanStart: true })).decision);
    expect(clean).toMatchObject({ sessionPresent: false, discardPrevious: true });
  });

  it('A1: no certificate, an expired one, a not yet valid one or one without clientAuth is refused', async () => {
    const ns = namespace();
    const request = { username: 'alpha', clientId: 's1' };
    for (const cert of [
      undefined,
      { ...CERTS.alpha, notAfter: new Date(T0 - 1) },
      { ...CERTS.alpha, notBefore: new Date(T0 + 1) },
      { ...CERTS.alpha, clientAuthAllowed: false },
    ]) {
      expect(refusal((await ns.connect(version, cert, request)).decision)).toEqual({ rule: 'A1', ...BAD_CREDENTIALS });
    }
  });

  it('A2: an unregistered name or a Disabled client is refused', async () => {
    const ns = namespace();
    expect(refusal((await ns.connect(version, CERTS.alpha, { username: 'nobody', clientId: 's1' })).decision).rule).toBe('A2');
    expect(refusal((await ns.connect(version, CERTS.disabled, { username: 'off', clientId: 's1' })).decision)).toEqual({ rule: 'A2', ...NOT_AUTHORIZED });
  });

  it('A3: each validation scheme accepts only the certificate that proves the name', async () => {
    const ns = namespace();
    grant((await ns.connect(version, CERTS.dns, { username: 'dev.example.test', clientId: 'd1' })).decision);
    grant((await ns.connect(version, CERTS.thumb, { username: 'thumb', clientId: 't1' })).decision);
    for (const [cert, username] of [
      [CERTS.beta, 'alpha'],
      [{ ...CERTS.alpha, chainsToRegisteredCa: false }, 'alpha'],
      [CERTS.alpha, 'dev.example.test'],
      [{ ...CERTS.thumb, thumbprint: 'C'.repeat(64) }, 'thumb'],
    ] as const) {
      expect(refusal((await ns.connect(version, cert, { username, clientId: 'x' })).decision)).toEqual({ rule: 'A3', ...BAD_CREDENTIALS });
    }
  });

  it('A4: names compare without regard to case', async () => {
    const ns = namespace();
    expect(grant((await ns.connect(version, CERTS.alphaUpper, { username: 'Alpha', clientId: 's1' })).decision).client.name).toBe('alpha');
  });

  it('A5: with no Username the configured certificate fields name the client, in order', async () => {
    const sources = {
      clientAuthentication: { alternativeAuthenticationNameSources: ['ClientCertificateDns' as const, 'ClientCertificateSubject' as const] },
    };
    const ns = namespace({ topicSpacesConfiguration: { ...NAMESPACE.topicSpacesConfiguration, ...sources } });
    expect(grant((await ns.connect(version, CERTS.dns, { clientId: 'd1' })).decision)).toMatchObject({ nameSource: 'ClientCertificateDns' });
    expect(grant((await ns.connect(version, CERTS.alpha, { clientId: 'a1' })).decision)).toMatchObject({ nameSource: 'ClientCertificateSubject' });
    const nameless = certificate({});
    expect(refusal((await ns.connect(version, nameless, { clientId: 'n1' })).decision).rule).toBe('A5');
  });

  it('A3, A5: a subject with two CNs neither proves nor names a client, whichever CN holds the name', async () => {
    const sources = { clientAuthentication: { alternativeAuthenticationNameSources: ['ClientCertificateSubject' as const] } };
    for (const commonNames of [['someone-else', 'alpha'], ['alpha', 'someone-else'], ['alpha', 'alpha']]) {
      const twoCns = certificate({ commonNames });
      expect(refusal((await namespace().connect(version, twoCns, { username: 'alpha', clientId: 'c1' })).decision), commonNames.join()).toEqual({ rule: 'A3', ...BAD_CREDENTIALS });
      const ns = namespace({ topicSpacesConfiguration: { ...NAMESPACE.topicSpacesConfiguration, ...sources } });
      expect(refusal((await ns.connect(version, twoCns, { clientId: 'c2' })).decision), commonNames.join()).toEqual({ rule: 'A5', ...BAD_CREDENTIALS });
    }
    // A3.last-cn, as Go's crypto/x509 reads a subject: the last CN proves the name, and names the client.
    const lastCn = namespace({ topicSpacesConfiguration: { ...NAMESPACE.topicSpacesConfiguration, ...sources } }, ['A3.last-cn']);
    const secondCn = certificate({ commonNames: ['someone-else', 'alpha'] });
    grant((await lastCn.connect(version, secondCn, { username: 'alpha', clientId: 'c3' })).decision);
    expect(grant((await lastCn.connect(version, secondCn, { clientId: 'c4' })).decision).client.name).toBe('alpha');
  });
});

describe('rule mutants: each mutant lets through what its rule refuses', () => {
  it.each([
    ['S4', (ns: ReturnType<typeof namespace>) => ns.connect(5, CERTS.alpha, { username: 'alpha', clientId: '' })],
    ['S6', async (ns: ReturnType<typeof namespace>) => (await ns.connect(5, CERTS.alpha, { username: 'alpha', clientId: 's' }), ns.connect(5, CERTS.beta, { username: 'beta', clientId: 's' }))],
    [
      'S9',
      async (ns: ReturnType<typeof namespace>) => (
        await ns.connect(5, CERTS.alpha, { username: 'alpha', clientId: 'a' }),
        await ns.connect(5, CERTS.alpha, { username: 'alpha', clientId: 'b' }),
        ns.connect(5, CERTS.alpha, { username: 'alpha', clientId: 'c' })
      ),
    ],
    ['A2', (ns: ReturnType<typeof namespace>) => ns.connect(5, CERTS.disabled, { username: 'off', clientId: 's' })],
    ['A3', (ns: ReturnType<typeof namespace>) => ns.connect(5, CERTS.beta, { username: 'alpha', clientId: 's' })],
  ] as const)('%s', async (rule, scenario) => {
    expect((await scenario(namespace())).decision.accept).toBe(false);
    expect((await scenario(namespace({}, [rule]))).decision.accept).toBe(true);
  });
});
