// A reference broker on 127.0.0.1 with the run's PKI, and clients that are all ended after each test.
import { inject } from 'vitest';
import { loadPki, type LoadedPki } from '../certs/manifest.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import { SessionClient, type SessionClientOptions } from '../mqtt-client/session-client.ts';
import { serverTlsFromPki, startReferenceBroker, type ReferenceBroker, type ReferenceBrokerOptions } from './broker.ts';
import { namespaceFromPki, type NamespaceFromPkiOptions } from '../certs/namespace.ts';

export interface TestBroker {
  broker: ReferenceBroker;
  pki: LoadedPki;
  log: string[];
  connect(
    identityId: string,
    sessionName: string,
    version: MqttVersion,
    options?: Partial<SessionClientOptions>,
  ): ReturnType<typeof SessionClient.connect>;
  /** Connects and insists on acceptance. */
  open(identityId: string, sessionName: string, version: MqttVersion, options?: Partial<SessionClientOptions>): Promise<SessionClient>;
  stop(): Promise<void>;
}

export async function startTestBroker(
  namespaceOptions: NamespaceFromPkiOptions = {},
  brokerOptions: Pick<ReferenceBrokerOptions, 'behaviour' | 'clock' | 'lifecycleFile'> = {},
): Promise<TestBroker> {
  const pki = loadPki(inject('pkiDir'));
  const log: string[] = [];
  const broker = await startReferenceBroker({
    namespace: namespaceFromPki(pki, namespaceOptions),
    tls: serverTlsFromPki(pki),
    ...brokerOptions,
    log: (line) => log.push(line),
  });
  const clients: SessionClient[] = [];
  const connect: TestBroker['connect'] = async (identityId, sessionName, version, options = {}) => {
    const identity = pki.identities.get(identityId);
    if (!identity) throw new Error(`no identity ${identityId} in the PKI`);
    const outcome = await SessionClient.connect({
      url: broker.url,
      ca: pki.rootCaPem,
      identity,
      sessionName,
      version,
      timeoutMs: 3000,
      ...options,
    });
    if (outcome.accepted) clients.push(outcome.client);
    return outcome;
  };
  return {
    broker,
    pki,
    log,
    connect,
    async open(identityId, sessionName, version, options) {
      const outcome = await connect(identityId, sessionName, version, options);
      if (!outcome.accepted) throw new Error(`${identityId} was refused session ${sessionName}: ${outcome.code} ${outcome.message}\n${log.join('\n')}`);
      return outcome.client;
    },
    async stop() {
      for (const client of clients) client.close();
      await broker.stop();
    },
  };
}
