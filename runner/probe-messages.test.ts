// The probe's error lines name the real cause: an expired client certificate is not a registration
// problem, and neither is a TLS server that is not MQTT.
import { describe, expect, inject, it } from 'vitest';
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
    expect(explainNotConnected('h:8883', client, { message: 'the connection closed with no CONNACK' })).toMatch(/closed the connection after CONNECT/);
    expect(explainNotConnected('h:8883', client, { message: 'Invalid header flag bits' })).toMatch(/did not answer CONNECT as an MQTT broker \(Invalid header flag bits\)/);
  });
});
