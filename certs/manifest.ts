// identities.json: the one description of the test PKI that the reference broker, the suite and the
// cloud provisioning all read. Paths in it are relative to the folder that holds it.
import { existsSync, readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { UserError } from '../common/errors.ts';
import type { CertificateDefect, IdentitySpec } from './identities.ts';
import { toolCommand } from '../common/package.ts';

export const MANIFEST_FILE = 'identities.json';
export const MANIFEST_FORMAT = 'mqtt-multisession-conformance/pki@1';

export interface CertificateFiles {
  certificate: string;
  key: string;
  /** Leaf then the CA that signed it, as a TLS peer presents them; absent for self-signed certificates. */
  chain?: string;
  thumbprint: string;
  notBefore: string;
  notAfter: string;
}

export interface CertificateFields {
  /** Every subject attribute, as `CN=a, CN=b`. */
  subject: string;
  /** The first subject CN. */
  commonName: string;
  dns: string[];
  uri: string[];
  ip: string[];
  email: string[];
}

/** An identity as written: its spec, less what the certificate fields and files now say. */
export interface IdentityEntry
  extends CertificateFiles,
    Pick<IdentitySpec, 'id' | 'role' | 'authenticationName' | 'variantOf' | 'validationScheme' | 'state' | 'issuer' | 'extendedKeyUsage' | 'rules'> {
  fields: CertificateFields;
  /** What to register for a ThumbprintMatch client; empty for other schemes. */
  allowedThumbprints: string[];
  defect?: { kind: CertificateDefect; description: string };
}

export interface PkiManifest {
  format: typeof MANIFEST_FORMAT;
  /** Hash of the identity specs and generator settings the set was made from. */
  specHash: string;
  generatedAt: string;
  ca: {
    /** The root every good certificate chains to: the server CA for clients of the reference broker. */
    root: CertificateFiles;
    /** Signs the server and client certificates: the CA a namespace registers. */
    intermediate: CertificateFiles;
    /** A CA that no namespace registers, for the unregistered-ca negative. */
    unregistered: CertificateFiles;
    /** Signs the local issuer's tokens (certs/tokens.ts); absent in sets made before tokens. */
    tokenIssuer?: CertificateFiles;
  };
  server: CertificateFiles & { dns: string[]; ip: string[] };
  identities: IdentityEntry[];
  /**
   * Where the set's CA and identities were registered (`npm run provision` or `npm run certs --
   * --mark-registered` adds an entry). A registered set is never replaced without --renew or --force.
   */
  registered?: Registration[];
}

export interface Registration {
  namespace: string;
  markedAt: string;
}

/** A user-facing problem with a PKI folder: its message says what is wrong and what to do. */
export class PkiError extends UserError {
  override name = 'PkiError';
}

export function readManifest(dir: string): PkiManifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) throw new PkiError(`${path} does not exist: generate a set with \`${toolCommand('certs')}\``);
  let manifest: PkiManifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as PkiManifest;
  } catch (error) {
    throw new PkiError(`${path} is not valid JSON (${(error as Error).message})`);
  }
  if (manifest?.format !== MANIFEST_FORMAT || !Array.isArray(manifest.identities) || !manifest.ca || !manifest.server) {
    throw new PkiError(`${path} is not a PKI manifest of format ${MANIFEST_FORMAT}`);
  }
  return manifest;
}

export function allCertificateFiles(manifest: PkiManifest): Array<[string, CertificateFiles]> {
  return [
    ['ca root', manifest.ca.root],
    ['ca intermediate', manifest.ca.intermediate],
    ['ca unregistered', manifest.ca.unregistered],
    ...(manifest.ca.tokenIssuer ? [['token issuer', manifest.ca.tokenIssuer] as [string, CertificateFiles]] : []),
    ['server', manifest.server],
    ...manifest.identities.map((identity): [string, CertificateFiles] => [`identity ${identity.id}`, identity]),
  ];
}

/**
 * Checks that every file the manifest names is there and matches it; returns the first problem found,
 * or undefined when the set is intact.
 */
export function findCorruption(dir: string, manifest: PkiManifest): string | undefined {
  for (const [label, files] of allCertificateFiles(manifest)) {
    for (const file of [files.certificate, files.key, files.chain]) {
      if (file !== undefined && !existsSync(join(dir, file))) return `${label}: ${file} is missing`;
    }
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(readFileSync(join(dir, files.certificate)));
    } catch {
      return `${label}: ${files.certificate} is not a PEM certificate`;
    }
    if (certificate.fingerprint256.replaceAll(':', '') !== files.thumbprint) {
      return `${label}: ${files.certificate} does not match the thumbprint in ${MANIFEST_FILE}`;
    }
  }
  return undefined;
}

export interface LoadedIdentity {
  entry: IdentityEntry;
  /** PEM to present in TLS: the chain where there is one, else the certificate. */
  certificatePem: string;
  keyPem: string;
}

export interface LoadedPki {
  dir: string;
  manifest: PkiManifest;
  rootCaPem: string;
  identities: Map<string, LoadedIdentity>;
  /** The text of a file the manifest names. */
  read(file: string): string;
}

/** Reads a PKI folder as `npm run certs` writes it, with the PEM text of every identity. */
export function loadPki(dir: string): LoadedPki {
  const manifest = readManifest(dir);
  const problem = findCorruption(dir, manifest);
  if (problem) throw new PkiError(`the PKI set in ${dir} is corrupt: ${problem}`);
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return {
    dir,
    manifest,
    read,
    rootCaPem: read(manifest.ca.root.certificate),
    identities: new Map(
      manifest.identities.map((entry) => [
        entry.id,
        { entry, certificatePem: read(entry.chain ?? entry.certificate), keyPem: read(entry.key) },
      ]),
    ),
  };
}

/** A server's certificate and key, as a TLS listener takes them. */
export interface ServerTls {
  /** PEM: the server certificate, then the CAs that signed it. */
  cert: string;
  key: string;
}

/** The set's server certificate (with its chain) and key. */
export function serverTlsFromPki(pki: LoadedPki): ServerTls {
  const { server } = pki.manifest;
  return { cert: pki.read(server.chain ?? server.certificate), key: pki.read(server.key) };
}
