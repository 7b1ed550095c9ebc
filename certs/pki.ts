// Generates the test PKI (CAs, server certificate, client identities) into a folder, or reuses a
// valid set already there. The folder is written whole or not at all: a new set is built beside it
// and renamed into place.
//
// A set marked as registered on a namespace (npm run provision marks it) is never replaced unasked:
// near or past expiry, runs warn and name `npm run certs -- --renew`, which keeps the old set beside
// the new one. An unmarked set is a throwaway for the embedded reference and is renewed as needed.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
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
  type Registration,
} from './manifest.ts';
import { toolCommand } from '../common/package.ts';
import { UnwritableLockError, withFolderLock } from './folder-lock.ts';
import {
  certificateToPem,
  issueCertificate,
  issuerFromPem,
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
const LEAF_LIFETIME = 365 * DAY;
/** An unregistered set with less validity left than this is made anew rather than reused. */
const MIN_REMAINING_VALIDITY = 7 * DAY;
/** A registered set with less validity left than this makes every run warn. */
const WARN_REMAINING_VALIDITY = 30 * DAY;
// Backdated an hour so that a clock a little behind still accepts a fresh certificate.
const BACKDATE = HOUR;

const SERVER_NAMES = { dns: ['localhost'], ip: ['127.0.0.1', '::1'] };

export interface ServerNames {
  dns: string[];
  ip: string[];
}

/** Sorts names given by the user (--server-name) into DNS names and IP addresses. */
export function serverNames(names: readonly string[]): ServerNames {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const raw of names) {
    const name = raw.trim().replace(/^\[|\]$/g, '');
    if (isIP(name)) ip.push(name);
    else if (/^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(name)) dns.push(name.toLowerCase());
    else throw new PkiError(`--server-name "${raw}" is neither a DNS name nor an IP address`);
  }
  return { dns, ip };
}

function mergeNames(...sets: ServerNames[]): ServerNames {
  return { dns: [...new Set(sets.flatMap((set) => set.dns))], ip: [...new Set(sets.flatMap((set) => set.ip))] };
}

/** Bump when the generator changes what it writes, so that older sets are made anew. */
const GENERATOR_VERSION = 2;

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

async function writeSet(dir: string, now: Date, names: ServerNames): Promise<PkiManifest> {
  const writer = new PkiWriter(dir, now);
  // Key generation dominates the cost; Node's crypto runs it on the thread pool, so ask for all at once.
  const keys = await Promise.all(Array.from({ length: 5 + IDENTITY_SPECS.length }, () => newKeyPair()));
  const [rootKeys, intermediateKeys, unregisteredKeys, serverKeys, tokenIssuerKeys, ...identityKeys] = keys as [
    KeyPair,
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
  // The local token issuer (T1-T8): its key signs the tokens `token --identity` prints, and the namespace
  // holds its certificate as Event Grid holds a custom JWT issuer's.
  const tokenIssuer = writer.write(
    'ca/token-issuer',
    issueCertificate({ commonName: 'Conformance Test Token Issuer', keys: tokenIssuerKeys, ...caValidity }),
    tokenIssuerKeys,
  );
  const server = writer.write(
    'server/server',
    issueCertificate({
      commonName: 'localhost',
      keys: serverKeys,
      issuer: intermediate.issuer,
      altNames: names,
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
      ...(spec.moreCommonNames ? { moreCommonNames: spec.moreCommonNames } : {}),
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
    ca: { root: root.files, intermediate: intermediate.files, unregistered: unregistered.files, tokenIssuer: tokenIssuer.files },
    server: { ...server.files, ...names },
    identities,
  };
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function identityEntry(spec: IdentitySpec, files: CertificateFiles): IdentityEntry {
  const { altNames, commonName, moreCommonNames, thumbprintRegistered, defect, variantOf, validity: _validity, ...rest } = spec;
  return {
    ...rest,
    ...files,
    ...(variantOf ? { variantOf } : {}),
    fields: {
      subject: [commonName, ...(moreCommonNames ?? [])].map((name) => `CN=${name}`).join(', '),
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
  /** Make a new set even when a valid one is there (a registered one is kept beside it). */
  force?: boolean;
  /** Make a new set because the user asked to renew (a registered one is kept beside it). */
  renew?: boolean;
  /** Names the server certificate must hold besides localhost, 127.0.0.1 and ::1. */
  serverNames?: ServerNames;
  now?: Date;
  log?: (line: string) => void;
}

export interface PkiResult {
  dir: string;
  manifest: PkiManifest;
  action: 'generated' | 'reused';
  /** Said to the user through log too: near or past expiry, made from other specs. */
  warnings: string[];
  /** Where a registered set that was replaced now is. */
  keptAt?: string;
}

/** The certificates a namespace or a client of the reference relies on (not the deliberately bad ones). */
function currentCertificates(manifest: PkiManifest): CertificateFiles[] {
  return [manifest.ca.root, manifest.ca.intermediate, manifest.server, ...manifest.identities.filter((i) => !i.defect)];
}

function soonestExpiry(manifest: PkiManifest): CertificateFiles {
  return currentCertificates(manifest).reduce((soonest, files) => (Date.parse(files.notAfter) < Date.parse(soonest.notAfter) ? files : soonest));
}

/** Why an intact unregistered set cannot be reused, or undefined when it can. */
function staleness(manifest: PkiManifest, now: Date): string | undefined {
  if (manifest.specHash !== specHash()) return 'it was made from other identity specs';
  const expiring = soonestExpiry(manifest);
  if (Date.parse(expiring.notAfter) < now.getTime() + MIN_REMAINING_VALIDITY) return `${expiring.certificate} expires on ${expiring.notAfter}`;
  return undefined;
}

function registeredOn(manifest: Pick<PkiManifest, 'registered'>): string {
  return [...new Set((manifest.registered ?? []).map((entry) => entry.namespace))].join(', ');
}

/** What must be registered again on a namespace after a renewal: the CA and the ThumbprintMatch clients. */
export function registrationOf(manifest: PkiManifest): string {
  const thumbprintClients = manifest.identities.filter((identity) => identity.allowedThumbprints.length > 0).map((identity) => identity.id);
  return `the CA ${manifest.ca.intermediate.certificate}${thumbprintClients.length ? ` and the thumbprints of the ThumbprintMatch clients ${thumbprintClients.join(', ')}` : ''}`;
}

/**
 * Warnings about a set's validity for a run to show, or none: a registered set warns from 30 days
 * before its first current certificate expires, any set once one has expired. Each names the command
 * that renews the set and what must then be registered again.
 */
export function pkiExpiryWarnings(dir: string, manifest: PkiManifest, now: Date = new Date()): string[] {
  const expiring = soonestExpiry(manifest);
  const left = Date.parse(expiring.notAfter) - now.getTime();
  const registered = registeredOn(manifest);
  if (left > (registered ? WARN_REMAINING_VALIDITY : 0)) return [];
  const when = left <= 0 ? `expired on ${expiring.notAfter}` : `expires on ${expiring.notAfter} (in ${Math.ceil(left / DAY)} days)`;
  const where = registered ? `registered on namespace ${registered}` : 'not marked as registered';
  return [
    `warning: the PKI set in ${dir} (${where}) has certificates that ${left <= 0 ? 'have expired' : 'expire soon'}: ${expiring.certificate} ${when}. ` +
      `\`${toolCommand('certs', `--renew --out ${dir}`)}\` makes a new set and keeps this one beside it; then register ${registrationOf(manifest)} on the namespace again (\`${toolCommand('provision')}\` writes the commands).`,
  ];
}

/** What ensurePki finds in a folder: a set to reuse (with a server certificate to reissue), or a set to make. */
type Finding =
  | { kind: 'reuse'; manifest: PkiManifest; registered: string; stale?: string; lacking?: ServerNames }
  | { kind: 'generate'; reason: string; keep: boolean };

/** Judges the folder as it is; throws PkiError for a folder it must not or cannot write. */
function judge(dir: string, options: EnsurePkiOptions, wanted: ServerNames, now: Date): Finding {
  if (existsSync(join(dir, MANIFEST_FILE))) {
    const asked = options.renew ? '--renew was given' : options.force ? '--force was given' : undefined;
    if (asked) return { kind: 'generate', reason: asked, keep: registeredOn(safeManifest(dir)) !== '' };
    const manifest = readManifest(dir);
    const corruption = findCorruption(dir, manifest);
    if (corruption) {
      throw new PkiError(`the PKI set in ${dir} is corrupt (${corruption}); run \`${toolCommand('certs', '--force')}\` to make a new one`);
    }
    const registered = registeredOn(manifest);
    const stale = staleness(manifest, now);
    if (stale && !registered) return { kind: 'generate', reason: stale, keep: false };
    const names = mergeNames(wanted, { dns: manifest.server.dns, ip: manifest.server.ip });
    const lacking = names.dns.length + names.ip.length > manifest.server.dns.length + manifest.server.ip.length;
    return { kind: 'reuse', manifest, registered, ...(stale ? { stale } : {}), ...(lacking ? { lacking: names } : {}) };
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new PkiError(`${dir} is not empty and holds no ${MANIFEST_FILE}: choose an empty or new folder with --out`);
  }
  return { kind: 'generate', reason: 'none was there', keep: false };
}

/**
 * Returns a valid PKI set in `outDir`: the one already there when it is intact, current and made from
 * the same specs, else a new one. A set marked as registered is replaced only with renew or force, and
 * then kept beside the new one. Throws PkiError for a folder it must not or cannot write.
 *
 * Safe for callers in several processes at once: whatever writes the folder holds its lock
 * (folder-lock.ts) and judges the folder again once it has it, so a caller that waited reuses the set
 * the other made; a set to reuse as it is is read without the lock (the folder may be read-only).
 */
export async function ensurePki(options: EnsurePkiOptions = {}): Promise<PkiResult> {
  const dir = resolve(options.outDir ?? DEFAULT_PKI_DIR);
  const now = options.now ?? new Date();
  const log = options.log ?? (() => {});
  const wanted = mergeNames(SERVER_NAMES, options.serverNames ?? { dns: [], ip: [] });
  let finding: Finding | undefined;
  let refusal: unknown;
  try {
    finding = judge(dir, options, wanted, now);
  } catch (error) {
    // Judged again under the lock, which throws it there: a set another process is replacing can be
    // seen half moved away.
    refusal = error;
  }
  if (finding?.kind === 'reuse' && !finding.lacking) return reuse(dir, finding.manifest, finding, now, log);
  try {
    return await ensureUnderLock(dir, options, wanted, now, log);
  } catch (error) {
    // A folder refused for its own reason (corrupt, holding other files) where no lock can be made
    // beside it: its reason, not the lock's, is what the user must hear.
    if (error instanceof UnwritableLockError && refusal) throw refusal;
    throw error;
  }
}

/** Judges the folder again under its lock, and reissues, generates or reuses what it finds. */
async function ensureUnderLock(dir: string, options: EnsurePkiOptions, wanted: ServerNames, now: Date, log: (line: string) => void): Promise<PkiResult> {
  return withFolderLock(dir, log, async () => {
    const found = judge(dir, options, wanted, now);
    if (found.kind === 'reuse') {
      let manifest = found.manifest;
      if (found.lacking) {
        manifest = await reissueServerCertificate(dir, manifest, found.lacking, now);
        log(`issued a new server certificate for ${[...found.lacking.dns, ...found.lacking.ip].join(', ')} from the set's own intermediate CA (the CAs and client certificates are unchanged)`);
      }
      return reuse(dir, manifest, found, now, log);
    }
    log(`generating a PKI set in ${dir} (${found.reason}): 5 CA, server and token issuer certificates and ${IDENTITY_SPECS.length} client certificates`);
    const keptAt = found.keep ? `${dir}.replaced-${now.toISOString().replace(/[:.]/g, '-')}` : undefined;
    const manifest = await writeAtomically(dir, (staging) => writeSet(staging, now, wanted), keptAt);
    log(`wrote ${dir}/${MANIFEST_FILE} with ${manifest.identities.length} identities`);
    if (keptAt) {
      log(`the replaced set, which was registered, is kept in ${keptAt}: register ${registrationOf(manifest)} of the new set on the namespace (\`${toolCommand('provision')}\` writes the commands), then delete ${keptAt}`);
    }
    return { dir, manifest, action: 'generated', warnings: [], ...(keptAt ? { keptAt } : {}) };
  });
}

function reuse(dir: string, manifest: PkiManifest, found: { registered: string; stale?: string }, now: Date, log: (line: string) => void): PkiResult {
  const { registered, stale } = found;
  if (stale && manifest.specHash !== specHash()) {
    log(`warning: the PKI set in ${dir} (registered on namespace ${registered}) was made from other identity specs; scenarios may need identities it lacks. \`${toolCommand('certs', `--renew --out ${dir}`)}\` makes a new set.`);
  }
  const warnings = pkiExpiryWarnings(dir, manifest, now);
  for (const warning of warnings) log(warning);
  log(`reusing the PKI set in ${dir} (made ${manifest.generatedAt}${registered ? `; registered on namespace ${registered}` : ''}; --renew makes a new one)`);
  return { dir, manifest, action: 'reused', warnings };
}

/** The manifest of a set about to be replaced, or an empty one when it cannot be read (a corrupt set). */
function safeManifest(dir: string): Pick<PkiManifest, 'registered'> {
  try {
    return readManifest(dir);
  } catch {
    return {};
  }
}

/**
 * A new server certificate with more names, signed by the set's own intermediate CA: the CAs and the
 * client certificates (what a namespace registers) stay as they are.
 */
async function reissueServerCertificate(dir: string, manifest: PkiManifest, names: ServerNames, now: Date): Promise<PkiManifest> {
  const { intermediate } = manifest.ca;
  const issuer = issuerFromPem(readFileSync(join(dir, intermediate.certificate), 'utf8'), readFileSync(join(dir, intermediate.key), 'utf8'));
  const keys = await newKeyPair();
  const writer = new PkiWriter(dir, now);
  const stem = manifest.server.certificate.replace(/\.pem$/, '');
  const certificate = issueCertificate({
    commonName: 'localhost',
    keys,
    issuer,
    altNames: names,
    extendedKeyUsage: ['serverAuth'],
    ...writer.validity('current', LEAF_LIFETIME),
  });
  const { files } = writer.write(stem, certificate, keys, issuer);
  const updated: PkiManifest = { ...manifest, server: { ...files, ...names } };
  writeManifest(dir, updated);
  return updated;
}

/** Replaces the manifest of a set at once, so that a reader never sees half of it. */
function writeManifest(dir: string, manifest: PkiManifest): void {
  const partial = join(dir, `.${MANIFEST_FILE}.${process.pid}`);
  writeFileSync(partial, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(partial, join(dir, MANIFEST_FILE));
}

/** Marks a set as registered on a namespace, so that no run replaces it unasked. */
export function markRegistered(dir: string, namespace: string, now: Date = new Date()): PkiManifest {
  const manifest = readManifest(dir);
  const entry: Registration = { namespace, markedAt: now.toISOString() };
  const updated: PkiManifest = { ...manifest, registered: [...(manifest.registered ?? []).filter((r) => r.namespace !== namespace), entry] };
  writeManifest(dir, updated);
  return updated;
}

/** Takes back a set's mark for a namespace (its registrations there were removed); true if it had one. */
export function unmarkRegistered(dir: string, namespace: string): boolean {
  const manifest = readManifest(dir);
  const registered = manifest.registered ?? [];
  const kept = registered.filter((entry) => entry.namespace !== namespace);
  if (kept.length === registered.length) return false;
  const { registered: _registered, ...rest } = manifest;
  writeManifest(dir, kept.length ? { ...rest, registered: kept } : rest);
  return true;
}

/** Builds the set in a sibling folder, then swaps it in, so that a failure leaves the old set as it was. */
async function writeAtomically<T>(dir: string, build: (staging: string) => Promise<T>, keepOldAt?: string): Promise<T> {
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
    if (existsSync(dir)) renameSync(dir, keepOldAt ?? retired);
    renameSync(staging, dir);
    if (!keepOldAt) rmSync(retired, { recursive: true, force: true });
    return result;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if ((error as NodeJS.ErrnoException).code) {
      throw new PkiError(`cannot write the PKI set to ${dir}: ${(error as Error).message}`);
    }
    throw error;
  }
}
