// The namespace that registers a PKI set: its intermediate CA and every identity of its manifest, as
// the reference broker's default namespace and `npm run provision` use it.
import type { AuthenticationNameSource } from '../eventgrid/authentication.ts';
import { parseNamespace, type NamespaceInput, type NamespaceConfig } from '../eventgrid/namespace.ts';
import type { LoadedPki } from './manifest.ts';

/** Sessions per authentication name the suite needs: S1 and S9 open two sessions of one identity. */
export const SUITE_SESSION_LIMIT = 2;

export interface NamespaceFromPkiOptions {
  name?: string;
  maximumClientSessionsPerAuthenticationName?: number;
  maximumSessionExpiryInHours?: number;
  alternativeAuthenticationNameSources?: AuthenticationNameSource[];
  reference?: NamespaceInput['reference'];
}

/**
 * A namespace that registers the PKI's intermediate CA (the one that signs the client certificates,
 * as Event Grid asks) and every identity of its manifest (negatives too, so that their certificate is
 * the only thing wrong with them; case variants are certificates of an identity already registered,
 * not clients of their own).
 */
export function namespaceFromPki(pki: LoadedPki, options: NamespaceFromPkiOptions = {}): NamespaceConfig {
  return parseNamespace({
    name: options.name ?? 'reference',
    topicSpacesConfiguration: {
      maximumSessionExpiryInHours: options.maximumSessionExpiryInHours ?? 1,
      maximumClientSessionsPerAuthenticationName: options.maximumClientSessionsPerAuthenticationName ?? SUITE_SESSION_LIMIT,
      clientAuthentication: { alternativeAuthenticationNameSources: options.alternativeAuthenticationNameSources ?? [] },
    },
    caCertificates: [{ name: 'conformance-test-ca', encodedCertificate: pki.read(pki.manifest.ca.intermediate.certificate) }],
    clients: pki.manifest.identities
      .filter((identity) => identity.role !== 'case-variant')
      .map((identity) => ({
        name: identity.id,
        authenticationName: identity.authenticationName,
        state: identity.state,
        clientCertificateAuthentication: {
          validationScheme: identity.validationScheme,
          allowedThumbprints: identity.allowedThumbprints,
        },
        attributes: { role: identity.role },
      })),
    reference: options.reference ?? {},
  });
}
