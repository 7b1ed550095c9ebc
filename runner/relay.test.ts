// No false failure from packet timing: the suite against the reference broker one hop away, through a
// TCP relay that passes the TLS bytes unread (mutual TLS still runs end to end) but joins what arrives
// close together into one write, or writes it a byte at a time. Every rule passes as it does directly.
// (A pass-through cannot put two TLS records into one: several MQTT packets in one record, which the
// client then reads in one go, are tested in mqtt-client/session-client.test.ts.)
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPki, type LoadedPki, serverTlsFromPki } from '../certs/manifest.ts';
import { temporaryDir } from '../common/test-support.ts';
import { maximumSessionExpirySeconds } from '../eventgrid/namespace.ts';
import { startReferenceBroker, type ReferenceBroker } from '../reference/broker.ts';
import { runConformance } from '../testkit/conformance-run.ts';
import { startRelay, type RelayMode } from '../testkit/tcp-relay.ts';
import { referenceNamespaces } from './embedded-brokers.ts';

let pki: LoadedPki;
beforeAll(() => {
  pki = loadPki(inject('pkiDir'));
});

/** The reference's two namespaces of a run, each behind a relay; each run its own, as runs at once would share the session limit. */
async function relayedReference(mode: RelayMode): Promise<{ url: string; alternativeNamesUrl: string; connections(): number; stop(): Promise<void> }> {
  const namespaces = referenceNamespaces(pki);
  const tls = serverTlsFromPki(pki);
  const brokers: ReferenceBroker[] = [await startReferenceBroker({ namespace: namespaces.main, tls }), await startReferenceBroker({ namespace: namespaces.alternativeNames, tls })];
  const relays = await Promise.all(brokers.map((broker) => startRelay(broker.url, mode)));
  return {
    url: relays[0]!.url,
    alternativeNamesUrl: relays[1]!.url,
    connections: () => relays[0]!.connections,
    async stop() {
      await Promise.all(relays.map((relay) => relay.stop()));
      await Promise.all(brokers.map((broker) => broker.stop()));
    },
  };
}

describe.concurrent.each<RelayMode>(['join', 'split'])('the suite through a relay that %ss packets', (mode) => {
  it('passes every rule on the reference broker', async () => {
    const relayed = await relayedReference(mode);
    try {
      const run = await runConformance(temporaryDir(), [
        '--target', relayed.url,
        '--alternative-names-target', relayed.alternativeNamesUrl,
        '--ca', join(pki.dir, pki.manifest.ca.root.certificate),
        '--identities', pki.dir,
        '--max-session-expiry', String(maximumSessionExpirySeconds(referenceNamespaces(pki).main)),
        '--no-pace',
      ]);
      expect(run.rules, run.stderr).toBeDefined();
      const notPassed = run.rules!.filter((verdict) => verdict.status === 'failed').map((verdict) => `${verdict.id} ${verdict.version}: ${verdict.message}`);
      expect(notPassed).toEqual([]);
      expect(run.rules!.some((verdict) => verdict.id === 'L8' && verdict.status === 'passed')).toBe(true);
      expect(run.exitCode).toBe(0);
      // The traffic went through the relay.
      expect(relayed.connections()).toBeGreaterThan(100);
    } finally {
      await relayed.stop();
    }
  }, 240_000);
});
