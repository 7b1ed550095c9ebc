// A broker on 127.0.0.1 with the run's PKI, and clients that are all ended after each test. The test
// passes the function that starts the broker (the reference's startReferenceBroker, or a variant), so
// that the toolkit, which sits below reference/ in the layers, never imports it.
import { inject } from 'vitest';
import { loadPki, serverTlsFromPki, type LoadedPki, type ServerTls } from '../certs/manifest.ts';
import type { MqttVersion } from '../rules/catalogue.ts';
import { SessionClient, type SessionClientOptions } from '../mqtt-client/session-client.ts';
import { namespaceFromPki, type NamespaceFromPkiOptions } from '../certs/namespace.ts';
import type { NamespaceConfig } from '../eventgrid/namespace.ts';

/** What the harness gives the broker it starts. */
export interface BrokerSetup {
  namespace: NamespaceConfig;
  tls: ServerTls;
  log: (line: string) => void;
}

/** What the harness needs of a started broker. */
export interface StartedBroker {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface TestBroker<Broker extends StartedBroker> {
  broker: Broker;
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

/** Starts a broker with `start`, for a namespace of the run's PKI; `options` go to `start` beside the setup. */
export async function startTestBroker<Options extends BrokerSetup, Broker extends StartedBroker>(
  start: (options: Options) => Promise<Broker>,
  namespaceOptions: NamespaceFromPkiOptions = {},
  options: Omit<Options, keyof BrokerSetup> = {} as Omit<Options, keyof BrokerSetup>,
): Promise<TestBroker<Broker>> {
  const pki = loadPki(inject('pkiDir'));
  const log: string[] = [];
  const setup: BrokerSetup = { namespace: namespaceFromPki(pki, namespaceOptions), tls: serverTlsFromPki(pki), log: (line) => log.push(line) };
  const broker = await start({ ...options, ...setup } as Options);
  const clients: SessionClient[] = [];
  const connect: TestBroker<Broker>['connect'] = async (identityId, sessionName, version, clientOptions = {}) => {
    const identity = pki.identities.get(identityId);
    if (!identity) throw new Error(`no identity ${identityId} in the PKI`);
    const outcome = await SessionClient.connect({
      url: broker.url,
      ca: pki.rootCaPem,
      identity,
      sessionName,
      version,
      timeoutMs: 3000,
      ...clientOptions,
    });
    if (outcome.accepted) clients.push(outcome.client);
    return outcome;
  };
  return {
    broker,
    pki,
    log,
    connect,
    async open(identityId, sessionName, version, clientOptions) {
      const outcome = await connect(identityId, sessionName, version, clientOptions);
      if (!outcome.accepted) throw new Error(`${identityId} was refused session ${sessionName}: ${outcome.code} ${outcome.message}\n${log.join('\n')}`);
      return outcome.client;
    },
    async stop() {
      for (const client of clients) client.close();
      await broker.stop();
    },
  };
}
