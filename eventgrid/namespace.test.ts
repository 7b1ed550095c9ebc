// Namespace configuration: defaults, the PKI-derived namespace, and errors that name field and reason.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { temporaryDir } from '../common/test-support.ts';
import { maximumSessionExpirySeconds, NamespaceConfigError, parseNamespace } from './namespace.ts';
import { readNamespaceFile } from './namespace-file.ts';

describe('parseNamespace', () => {
  it("fills in Event Grid's defaults", () => {
    const namespace = parseNamespace({ clients: [{ name: 'a', authenticationName: 'a' }] });
    expect(namespace.topicSpacesConfiguration).toEqual({
      maximumSessionExpiryInHours: 1,
      maximumClientSessionsPerAuthenticationName: 1,
      clientAuthentication: { alternativeAuthenticationNameSources: [] },
    });
    expect(namespace.clients[0]).toMatchObject({ state: 'Enabled', clientCertificateAuthentication: { validationScheme: 'SubjectMatchesAuthenticationName' } });
    expect(maximumSessionExpirySeconds(namespace)).toBe(3600);
  });

  it("takes Event Grid's limits as the reference's defaults, and only lower ones", () => {
    expect(parseNamespace({}).reference.limits).toEqual({
      sessionQueueMessages: 100,
      sessionQueueBytes: 1024 * 1024,
      subscriptionsPerSession: 50,
      topicBytes: 256,
      topicLevels: 15,
      keepAliveSeconds: 1160,
      maximumPacketSize: 512 * 1024,
      retainedMessageBytes: 64 * 1024,
      willDelaySeconds: 300,
    });
    expect(parseNamespace({ reference: { limits: { sessionQueueMessages: 3 } } }).reference.limits.sessionQueueMessages).toBe(3);
    expect(() => parseNamespace({ reference: { limits: { subscriptionsPerSession: 51 } } })).toThrow(/reference\.limits\.subscriptionsPerSession: Too big/);
  });

  it.each([
    [{ topicSpacesConfiguration: { maximumClientSessionsPerAuthenticationName: 101 } }, /maximumClientSessionsPerAuthenticationName: Too big/],
    [{ topicSpacesConfiguration: { maximumSessionExpiryInHours: 0 } }, /maximumSessionExpiryInHours: Too small/],
    [{ clients: [{ name: 'a', authenticationName: 'x'.repeat(129) }] }, /clients\.0\.authenticationName: Too big/],
    [{ clients: [{ name: 'a', authenticationName: 'a', clientCertificateAuthentication: { validationScheme: 'Telepathy' } }] }, /clients\.0\.clientCertificateAuthentication\.validationScheme: Invalid option/],
    [{ clients: [{ name: 'a', authenticationName: 'a', clientCertificateAuthentication: { allowedThumbprints: ['abc'] } }] }, /allowedThumbprints\.0: must be a SHA-256 thumbprint/],
    [{ caCertificates: [{ name: 'ca', encodedCertificate: 'hello' }] }, /caCertificates\.0\.encodedCertificate: must be a PEM certificate/],
    [{ clients: [{ name: 'a', authenticationName: 'Dev' }, { name: 'b', authenticationName: 'dev' }] }, /clients\.1\.authenticationName: "dev" is already/],
    [{ topicSpacesConfiguration: { maximumSessionsPerName: 2 } }, /topicSpacesConfiguration: Unrecognized key/],
  ])('rejects %j naming the field', (input, message) => {
    expect(() => parseNamespace(input)).toThrow(NamespaceConfigError);
    expect(() => parseNamespace(input)).toThrow(message);
  });
});

describe('readNamespaceFile', () => {
  it('says which file is missing or not JSON', () => {
    const dir = temporaryDir();
    expect(() => readNamespaceFile(join(dir, 'none.json'))).toThrow(/cannot read namespace file .*none\.json: ENOENT/);
    writeFileSync(join(dir, 'bad.json'), '{');
    expect(() => readNamespaceFile(join(dir, 'bad.json'))).toThrow(/bad\.json is not valid JSON/);
  });

  it('gives a file that declares no CA certificates the default ones, and keeps an empty list', () => {
    const dir = temporaryDir();
    const ca = { name: 'default-ca', encodedCertificate: readFileSync(join(inject('pkiDir'), 'ca', 'intermediate.pem'), 'utf8') };
    writeFileSync(join(dir, 'none.json'), JSON.stringify({ clients: [] }));
    writeFileSync(join(dir, 'empty.json'), JSON.stringify({ caCertificates: [] }));
    expect(readNamespaceFile(join(dir, 'none.json'), { defaultCaCertificates: [ca] }).caCertificates.map((c) => c.name)).toEqual(['default-ca']);
    expect(readNamespaceFile(join(dir, 'empty.json'), { defaultCaCertificates: [ca] }).caCertificates).toEqual([]);
    expect(readNamespaceFile(join(dir, 'none.json')).caCertificates).toEqual([]);
  });
});
