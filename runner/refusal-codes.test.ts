// --strict-codes holds for every packet that carries a refusal, not only the CONNACK: a broker that
// refuses a forbidden SUBSCRIBE (P2) over MQTT 5 with SUBACK 0x80 instead of the inferred 0x87 fails
// P2 under --strict-codes, and passes it without, on the lenient reading, marked so in the report.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadPki, serverTlsFromPki, type LoadedPki } from '../certs/manifest.ts';
import { temporaryDir } from '../common/test-support.ts';
import { maximumSessionExpirySeconds } from '../eventgrid/namespace.ts';
import type { RefusalCode } from '../rules/codes.ts';
import { startReferenceBroker, type ReferenceBroker } from '../reference/broker.ts';
import type { Behaviour } from '../reference/policy/behaviour.ts';
import { EVENT_GRID } from '../reference/policy/event-grid.ts';
import { runConformance } from '../testkit/conformance-run.ts';
import { referenceNamespaces } from './embedded-brokers.ts';

/** 0x80 Unspecified error: a SUBACK code no rule expects, so rules/codes.ts has no name for it. */
const UNSPECIFIED_ERROR: RefusalCode = { packet: 'SUBACK', reasonCode: 0x80, returnCode: 0x80 };

/** The reference, except that a filter P2 refuses gets 0x80 over MQTT 5 (3.1.1's only SUBACK failure code anyway). */
const UNSPECIFIED_P2: Behaviour = {
  ...EVENT_GRID,
  subscribeChecks: EVENT_GRID.subscribeChecks.map((check) =>
    check.rule === 'P2'
      ? {
          ...check,
          run: (context) => {
            const refusal = check.run(context);
            return refusal && { ...refusal, code: UNSPECIFIED_ERROR };
          },
        }
      : check,
  ),
};

let pki: LoadedPki;
let broker: ReferenceBroker;

beforeAll(async () => {
  pki = loadPki(inject('pkiDir'));
  broker = await startReferenceBroker({ namespace: referenceNamespaces(pki).main, tls: serverTlsFromPki(pki), behaviour: UNSPECIFIED_P2 });
});
afterAll(async () => {
  await broker.stop();
});

describe('a SUBACK refusal with another code than the inferred one', () => {
  it('fails P2 under --strict-codes and passes it leniently without, marked in rules.json and the console', async () => {
    const args = [
      '--target', broker.url,
      '--ca', join(pki.dir, pki.manifest.ca.root.certificate),
      '--identities', pki.dir,
      '--no-pace',
      // The reference keeps sessions for seconds, outside Event Grid's range: so it is declared.
      '--max-session-expiry', String(maximumSessionExpirySeconds(referenceNamespaces(pki).main)),
      '--rules', 'P2',
    ];
    // One after the other: both runs hold the same identities' sessions on one broker, whose limit is 2.
    const lenient = await runConformance(temporaryDir(), args);
    const strict = await runConformance(temporaryDir(), [...args, '--strict-codes']);
    const p2 = (run: typeof lenient, version: string) => run.rules?.find((verdict) => verdict.id === 'P2' && verdict.version === version);

    expect(lenient.exitCode, lenient.stderr).toBe(0);
    expect(p2(lenient, '5')).toMatchObject({ status: 'passed' });
    expect(p2(lenient, '5')!.lenientCodes.join('\n')).toContain('SUBACK 0x80 Unspecified error, where the project infers SUBACK 0x87 Not authorized (inferred for P2)');
    expect(lenient.stdout).toMatch(/^P2 +X\.509 +tcp +PASS +PASS~ /m);
    // 3.1.1's SUBACK has 0x80 alone: the inferred code itself.
    expect(p2(lenient, '3.1.1')).toMatchObject({ status: 'passed', lenientCodes: [] });

    expect(strict.exitCode, strict.stderr).toBe(1);
    expect(p2(strict, '5')).toMatchObject({ status: 'failed' });
    expect(p2(strict, '5')!.message).toContain('SUBACK 0x87 Not authorized (inferred for P2), binding with --strict-codes, got SUBACK 0x80 Unspecified error');
    expect(p2(strict, '3.1.1')).toMatchObject({ status: 'passed' });
  }, 120_000);
});
