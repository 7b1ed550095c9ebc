// Client certificates are path-validated by OpenSSL against the namespace's registered CAs, and a
// leaf no namespace accepts is refused whatever its scheme: each bad certificate of the set is refused
// at CONNECT, and the otherwise identical good one beside it is accepted.
import { connect as tlsConnect } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { certificateCases, craftCertificate, craftKey, type CertificateCase } from '../certs/crafted.ts';
import { loadPki, type LoadedPki, serverTlsFromPki } from '../certs/manifest.ts';
import { parseNamespace } from '../eventgrid/namespace.ts';
import { startReferenceBroker, type ReferenceBroker } from './broker.ts';
import { connectV5 } from '../testkit/raw-packets.ts';

const set = certificateCases('device-1');
const selfSigned = craftCertificate({ commonName: 'thumb-1', key: craftKey('ec-p256') });
const selfSignedSha1 = craftCertificate({ commonName: 'thumb-1', key: craftKey('rsa-2048'), hash: 'sha1' });
let broker: ReferenceBroker;
let pki: LoadedPki;
const log: string[] = [];

beforeAll(async () => {
  pki = loadPki(inject('pkiDir'));
  const { thumbprintOf } = await import('../certs/x509.ts');
  const namespace = parseNamespace({
    name: 'crafted',
    topicSpacesConfiguration: { maximumSessionExpiryInHours: 1, maximumClientSessionsPerAuthenticationName: 2, clientAuthentication: { alternativeAuthenticationNameSources: [] } },
    caCertificates: set.registeredCas.map((pem, index) => ({ name: `crafted-${index}`, encodedCertificate: pem })),
    clients: [
      { name: 'device-1', authenticationName: 'device-1', state: 'Enabled', clientCertificateAuthentication: { validationScheme: 'SubjectMatchesAuthenticationName', allowedThumbprints: [] }, attributes: {} },
      {
        name: 'thumb-1',
        authenticationName: 'thumb-1',
        state: 'Enabled',
        clientCertificateAuthentication: { validationScheme: 'ThumbprintMatch', allowedThumbprints: [thumbprintOf(selfSigned.pem), thumbprintOf(selfSignedSha1.pem)] },
        attributes: {},
      },
    ],
    reference: {},
  });
  broker = await startReferenceBroker({ namespace, tls: serverTlsFromPki(pki), log: (line) => log.push(line) });
});
afterAll(async () => {
  await broker?.stop();
});

/** Connects with the certificate (a device with a permissive TLS stack) and returns the CONNACK reason code, if any. */
async function connackCode(chainPem: string, keyPem: string, username: string, sessionName: string): Promise<number | undefined> {
  const socket = tlsConnect({ host: '127.0.0.1', port: broker.port, servername: 'localhost', ca: pki.rootCaPem, cert: chainPem, key: keyPem, ciphers: 'DEFAULT:@SECLEVEL=0' });
  socket.on('error', () => {});
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const connack = new Promise<number | undefined>((resolve) => {
    parser.on('packet', (packet) => resolve((packet as { reasonCode?: number }).reasonCode));
    socket.once('close', () => resolve(undefined));
    setTimeout(() => resolve(undefined), 3000);
  });
  socket.on('data', (chunk) => parser.parse(chunk));
  socket.once('secureConnect', () => socket.write(connectV5(sessionName, username, Buffer.alloc(0))));
  const code = await connack;
  socket.destroy();
  return code;
}

describe('client certificate path validation (A1, A3)', () => {
  it.each(set.cases.map((c, index) => [c.name, c, index] as [string, CertificateCase, number]))('%s', async (_name, certificateCase, index) => {
    const code = await connackCode(certificateCase.chainPem, certificateCase.keyPem, 'device-1', `s${index}`);
    if (certificateCase.expect === 'accepted') {
      expect(code, log.join('\n')).toBe(0x00);
    } else {
      // Bad User Name or Password, for the certificate's reason (A1 or A3), never accepted.
      expect(code).toBe(0x86);
      expect(log.filter((line) => line.includes(`"s${index}"`)).join('\n')).toMatch(/\[(A1|A3)\].*(CA certificate|SHA-1|RSA key|CERT_HAS_EXPIRED|PATH_LENGTH_EXCEEDED|chain)/);
    }
  });

  it('ThumbprintMatch: a registered self-signed EC certificate is accepted; a registered self-signed SHA-1 one is refused [A1]', async () => {
    expect(await connackCode(selfSigned.pem, selfSigned.key.privateKeyPem, 'thumb-1', 't1')).toBe(0x00);
    expect(await connackCode(selfSignedSha1.pem, selfSignedSha1.key.privateKeyPem, 'thumb-1', 't2')).toBe(0x86);
    expect(log.find((line) => line.includes('"t2"'))).toMatch(/\[A1\].*SHA-1/);
  });
});
