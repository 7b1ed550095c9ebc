// The probe's error lines name the real cause: an expired client certificate is not a registration
// problem, and neither is a TLS server that is not MQTT.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { markRegistered } from '../certs/pki.ts';
import { temporaryDir } from '../common/test-support.ts';
import { remoteTarget } from './target.ts';
import { loadPki } from '../certs/manifest.ts';
import { certificateValidityProblem, explainNotConnected } from './probe.ts';

const identity = () => [...loadPki(inject('pkiDir')).identities.values()].find((candidate) => candidate.entry.role === 'client')!;
const DAY = 86_400_000;

describe('probe messages', () => {
  it('says an expired client certificate has expired, names the renewal, and does not blame registration', () => {
    const client = identity();
    const later = new Date(Date.parse(client.entry.notAfter) + DAY);
    const problem = certificateValidityProblem(client, later)!;
    expect(problem).toMatch(new RegExp(`client certificate of identity "${client.entry.id}" expired on ${client.entry.notAfter}`));
    expect(problem).toMatch(/npm run certs -- --renew/);
    expect(problem).not.toMatch(/is it registered/);
    expect(certificateValidityProblem(client, new Date())).toBeUndefined();
  });

  it('blames registration only for an authorization refusal', () => {
    const client = identity();
    expect(explainNotConnected('h:8883', client, { code: 0x87, message: 'refused by CONNACK' })).toMatch(/Not authorized.*is it registered/);
    expect(explainNotConnected('h:8883', client, { code: 0x97, message: 'refused by CONNACK' })).not.toMatch(/registered/);
    expect(explainNotConnected('h:8883', client, { message: 'connack timeout' })).toMatch(/sent no CONNACK within 5 s/);
    expect(explainNotConnected('h:8883', client, { message: 'the connection closed with no CONNACK' })).toMatch(/closed the connection after an MQTT 5 CONNECT/);
    expect(explainNotConnected('h:8883', client, { message: 'Invalid header flag bits' })).toMatch(/did not answer CONNECT as an MQTT broker \(Invalid header flag bits\)/);
  });
});

describe('a remote run with a registered PKI near expiry', () => {
  it('warns before it starts, naming the renewal and what to register again', () => {
    const dir = join(temporaryDir(), 'pki');
    cpSync(inject('pkiDir'), dir, { recursive: true });
    markRegistered(dir, 'conf-ns');
    const ca = join(dir, 'ca', 'root.pem');
    const now = new Date(Date.now() + 350 * DAY);
    const target = remoteTarget({ url: 'mqtts://127.0.0.1:8883', caFile: ca, identitiesDir: dir, now });
    expect(target.warnings).toHaveLength(1);
    expect(target.warnings[0]).toMatch(/registered on namespace conf-ns.*expire soon.*npm run certs -- --renew --out .*pki.*register the CA ca\/intermediate\.pem/);
    expect(remoteTarget({ url: 'mqtts://127.0.0.1:8883', caFile: ca, identitiesDir: dir }).warnings).toEqual([]);
  });
});
