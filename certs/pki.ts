// Generates the test PKI (CAs, server certificate, client identities) into a folder, or reuses a
// valid set already there. The folder is written whole or not at all: a new set is built beside it
// and renamed into place.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type forge from 'node-forge';
import { DEFECT_DESCRIPTIONS, IDENTITY_SPECS, type IdentitySpec, type Validity } from './identities.ts';
import {
  findCorruption,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  PkiError,
  readManifest,
  type CertificateFiles,
  type IdentityEntry,
  type PkiManifest,
} from './manifest.ts';
import {
  certificateToPem,
  issueCertificate,
  newKeyPair,
  thumbprintOf,
  type CertificateRequest,
  type Issuer,
  type KeyPair,
} from './x509.ts';

export const DEFAULT_PKI_DIR = 'pki';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CA_LIFETIME = 3 * 365 * DAY;
const LEAF_LIFETIME = 90 * DAY;
/** A set with less validity left than this is made anew rather than reused. */
const MIN_REMAINING_VALIDITY = 7 * DAY;
// Backdated an hour so that a clock a little behind still accepts a fresh certificate.
const BACKDATE = HOUR;

const SERVER_NAMES = { dns: ['localhost'], ip: ['127.0.0.1', '::1'] };

/** Bump when the generator changes what it writes, so that older sets are made anew. */
const GENERATOR_VERSION = 1;

export function specHash(): string {
  return createHash('sha256')
    .update(JSON.stringify({ GENERATOR_VERSION, SERVER_NAMES, IDENTITY_SPECS }))
    .digest('hex');
}

interface Written {
  files: CertificateFiles;
  issuer: Issuer;
}

class PkiWriter {
  constructor(
    private readonly dir: string,
    private readonly now: Date,
  ) {}

  validity(validity: Validity, lifetime: number): Pick<CertificateRequest, 'notBefore' | 'notAfter'> {
    const now = this.now.getTime();
    switch (validity) {
      case 'current':
        return { notBefore: new Date(now - BACKDATE), notAfter: new Date(now + lifetime) };
      case 'expired':
        return { notBefore: new Date(now - 30 * DAY), notAfter: new Date(now - DAY) };
      case 'not-yet-valid':
        return { notBefore: new Date(now + 5 * 365 * DAY), notAfter: new Date(now + 6 * 365 * DAY) };
    }
  }

  write(stem: string, certificate: forge.pki.Certificate, keys: KeyPair, issuer?: Issuer): Written {
    const folder = stem.split('/')[0]!;
    mkdirSync(join(this.dir, folder), { recursive: true });
    const certificatePem = certificateToPem(certificate);
    const files: CertificateFiles = {
      certificate: `${stem}.pem`,
      key: `${stem}.key.pem`,
      thumbprint: thumbprintOf(certificatePem),
      notBefore: certificate.validity.notBefore.toISOString(),
      notAfter: certificate.validity.notAfter.toISOString(),
    };
    writeFileSync(join(this.dir, files.certificate), certificatePem);
    writeFileSync(join(this.dir, files.key), keys.privateKeyPem, { mode: 0o600 });
    if (issuer) {
      files.chain = `${stem}-chain.pem`;
      writeFileSync(join(this.dir, files.chain), certificatePem + certificateToPem(issuer.certificate));
    }
    return { files, issuer: { certificate, keys } };
  }
}

async function writeSet(dir: string, now: Date): Promise<PkiManifest> {
  const writer = new PkiWriter(dir, now);
  // Key generation dominates the cost; Node's crypto runs it on the thread pool, so ask for all at once.
  const keys = await Promise.all(Array.from({ length: 4 + IDENTITY_SPECS.length }, () => newKeyPair()));
  const [rootKeys, intermediateKeys, unregisteredKeys, serverKeys, ...identityKeys] = keys as [
    KeyPair,
    KeyPair,
    KeyPair,
    KeyPair,
    ...KeyPair[],
  ];
  const caValidity = writer.validity('current', CA_LIFETIME);

  const root = writer.write(
    'ca/root',
    issueCertificate({ commonName: 'Conformance Test Root CA', keys: rootKeys, ca: {}, ...caValidity }),
    rootKeys,
  );
  const intermediate = writer.write(
    'ca/intermediate',
    issueCertificate({
      commonName: 'Conformance Test Intermediate CA',
      keys: intermediateKeys,
      issuer: root.issuer,
      ca: { pathLength: 0 },
      ...caValidity,
    }),
    intermediateKeys,
    root.issuer,
  );
  const unregistered = writer.write(
    'ca/unregistered-root',
    issueCertificate({ commonName: 'Unregistered Test Root CA', keys: unregisteredKeys, ca: {}, ...caValidity }),
    unregisteredKeys,
  );
  const server = writer.write(
    'server/server',
    issueCertificate({
      commonName: 'localhost',
      keys: serverKeys,
      issuer: intermediate.issuer,
      altNames: SERVER_NAMES,
      extendedKeyUsage: ['serverAuth'],
      ...writer.validity('current', LEAF_LIFETIME),
    }),
    serverKeys,
    intermediate.issuer,
  );

  const issuers = { intermediate: intermediate.issuer, 'unregistered-ca': unregistered.issuer, self: undefined };
  const identities = IDENTITY_SPECS.map((spec, index): IdentityEntry => {
    const issuer = issuers[spec.issuer];
    const keyPair = identityKeys[index]!;
    const certificate = issueCertificate({
      commonName: spec.commonName,
      keys: keyPair,
      issuer,
      altNames: spec.altNames,
      extendedKeyUsage: spec.extendedKeyUsage,
      ...writer.validity(spec.validity, LEAF_LIFETIME),
    });
    const { files } = writer.write(`clients/${spec.id}`, certificate, keyPair, issuer);
    return identityEntry(spec, files);
  });

  const manifest: PkiManifest = {
    format: MANIFEST_FORMAT,
    specHash: specHash(),
    generatedAt: now.toISOString(),
    ca: { root: root.files, intermediate: intermediate.files, unregistered: unregistered.files },
    server: { ...server.files, ...SERVER_NAMES },
    identities,
  };
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function identityEntry(spec: IdentitySpec, files: CertificateFiles): IdentityEntry {
  const { altNames, commonName, thumbprintRegistered, defect, variantOf, validity: _validity, ...rest } = spec;
  return {
    ...rest,
    ...files,
    ...(variantOf ? { variantOf } : {}),
    fields: {
      subject: `CN=${commonName}`,
      commonName,
      dns: altNames.dns ?? [],
      uri: altNames.uri ?? [],
      ip: altNames.ip ?? [],
      email: altNames.email ?? [],
    },
    allowedThumbprints: thumbprintRegistered ? [files.thumbprint] : [],
    ...(defect ? { defect: { kind: defect, description: DEFECT_DESCRIPTIONS[defect] } } : {}),
  };
}

export interface EnsurePkiOptions {
  /** Folder to write; default `pki/` in the working directory. */
  outDir?: string;
  /** Make a new set even when a valid one is there. */
  force?: boolean;
  now?: Date;
  log?: (line: string) => void;
}

export interface PkiResult {
  dir: string;
  manifest: PkiManifest;
  action: 'generated' | 'reused';
}

/** Why an intact set cannot be reused, or undefined when it can. */
function staleness(manifest: PkiManifest, now: Date): string | undefined {
  if (manifest.specHash !== specHash()) return 'it was made from other identity specs';
  const soon = now.getTime() + MIN_REMAINING_VALIDITY;
  const current = [manifest.ca.root, manifest.server, ...manifest.identities.filter((i) => !i.defect)];
  const expiring = current.find((files) => Date.parse(files.notAfter) < soon);
  if (expiring) return `${expiring.certificate} expires on ${expiring.notAfter}`;
  return undefined;
}

/**
 * Returns a valid PKI set in `outDir`: the one already there when it is intact, current and made from
 * the same specs, else a new one. Throws PkiError for a folder it must not or cannot write.
 */
export async function ensurePki(options: EnsurePkiOptions = {}): Promise<PkiResult> {
  const dir = resolve(options.outDir ?? DEFAULT_PKI_DIR);
  const now = options.now ?? new Date();
  const log = options.log ?? (() => {});
  let reason = 'none was there';

  if (existsSync(join(dir, MANIFEST_FILE))) {
    if (options.force) {
      reason = '--force was given';
    } else {
      const manifest = readManifest(dir);
      const corruption = findCorruption(dir, manifest);
      if (corruption) {
        throw new PkiError(`the PKI set in ${dir} is corrupt (${corruption}); run \`npm run certs -- --force\` to make a new one`);
      }
      const stale = staleness(manifest, now);
      if (!stale) {
        log(`reusing the PKI set in ${dir} (made ${manifest.generatedAt}; --force makes a new one)`);
        return { dir, manifest, action: 'reused' };
      }
      reason = stale;
    }
  } else if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new PkiError(`${dir} is not empty and holds no ${MANIFEST_FILE}: choose an empty or new folder with --out`);
  }

  log(`generating a PKI set in ${dir} (${reason}): 4 CA/server and ${IDENTITY_SPECS.length} client certificates`);
  const manifest = await writeAtomically(dir, (staging) => writeSet(staging, now));
  log(`wrote ${dir}/${MANIFEST_FILE} with ${manifest.identities.length} identities`);
  return { dir, manifest, action: 'generated' };
}

/** Builds the set in a sibling folder, then swaps it in, so that a failure leaves the old set as it was. */
async function writeAtomically<T>(dir: string, build: (staging: string) => Promise<T>): Promise<T> {
  const parent = dirname(dir);
  const staging = join(parent, `.${basename(dir)}.partial-${process.pid}`);
  const retired = join(parent, `.${basename(dir)}.old-${process.pid}`);
  try {
    mkdirSync(staging, { recursive: true });
  } catch (error) {
    throw new PkiError(`cannot write a PKI set beside ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const result = await build(staging);
    if (existsSync(dir)) renameSync(dir, retired);
    renameSync(staging, dir);
    rmSync(retired, { recursive: true, force: true });
    return result;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if ((error as NodeJS.ErrnoException).code) {
      throw new PkiError(`cannot write the PKI set to ${dir}: ${(error as Error).message}`);
    }
    throw error;
  }
}
