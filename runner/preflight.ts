// Before any scenario: can the target be reached, and does its TLS certificate verify against the CA
// the user gave? Each failure becomes one line saying what to fix, instead of every rule failing.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { UserError } from '../common/errors.ts';
import { loadPki, type LoadedIdentity } from '../certs/manifest.ts';
import type { TargetParameters } from '../steps/target.ts';

const TIMEOUT_MS = 5000;

function explain(error: NodeJS.ErrnoException, where: string, caFile: string, caOrigin: string): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return `cannot reach ${where}: connection refused (is the broker running, and is the port right?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${where}: the host name does not resolve`;
    case 'ETIMEDOUT':
      return `cannot reach ${where}: no answer within ${TIMEOUT_MS / 1000} s`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `the server certificate of ${where} does not verify against ${caOrigin} ${caFile} (${error.code})`;
    case 'CERT_HAS_EXPIRED':
      return `the server certificate of ${where} has expired (${error.code})`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the server certificate of ${where} does not name ${where.replace(/:\d+$/, '')} (${error.code}): connect by a name it holds (for the reference broker, add names with --server-name NAME)`;
    case 'ECONNRESET':
      return `${where} closed the connection during the TLS handshake (${error.code}): is it a TLS endpoint, and does it accept this client certificate?`;
    default:
      return `TLS connection to ${where} failed: ${error.code ?? error.message}`;
  }
}

/** The identity that tests a connection: the one named, else the PKI's first good client. */
export function clientIdentity(target: TargetParameters, identityId?: string): LoadedIdentity {
  const identities = loadPki(target.identitiesDir).identities;
  const identity = identityId ? identities.get(identityId) : [...identities.values()].find((candidate) => candidate.entry.role === 'client');
  if (!identity) throw new UserError(`no identity ${identityId ?? 'of role client'} in ${target.identitiesDir}/identities.json`);
  return identity;
}

export interface ServerCertificate {
  subject: string;
  issuer: string;
  validTo: string;
}

/** Resolves with what the server's certificate says, once it verified against the CA. */
export async function checkTarget(target: TargetParameters): Promise<ServerCertificate> {
  const url = new URL(target.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const where = `${url.hostname}:${url.port || 8883}`;
  const identity = clientIdentity(target);
  return new Promise<ServerCertificate>((resolve, reject) => {
    const socket = connect({
      host,
      port: Number(url.port || 8883),
      // SNI takes host names only; an IP address is checked against the certificate's IP SANs.
      ...(isIP(host) ? {} : { servername: host }),
      ca: readFileSync(target.caFile),
      cert: identity.certificatePem,
      key: identity.keyPem,
      timeout: TIMEOUT_MS,
    });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      socket.end();
      resolve({ subject: `CN=${peer.subject?.CN ?? '?'}`, issuer: `CN=${peer.issuer?.CN ?? '?'}`, validTo: peer.valid_to });
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new UserError(explain({ name: 'Error', message: 'timeout', code: 'ETIMEDOUT' }, where, target.caFile, target.caOrigin ?? '--ca')));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => reject(new UserError(explain(error, where, target.caFile, target.caOrigin ?? '--ca'))));
  });
}
