// The namespace that registers a PKI set: its intermediate CA, every identity of its manifest, and the
// permissions the suite's scenarios need (eventgrid/suite-contract.ts), as the reference broker's
// default namespace and `npm run provision` use it.
import type { AuthenticationNameSource } from '../eventgrid/authentication.ts';
import { parseNamespace, type NamespaceInput, type NamespaceConfig } from '../eventgrid/namespace.ts';
import { SUITE_TOPIC_SPACES, suiteAccessControl } from '../eventgrid/suite-contract.ts';
import type { LoadedPki } from './manifest.ts';
import { localEntraSettings, localIssuerSettings } from './tokens.ts';

/** Sessions per authentication name the suite needs: S1 and S9 open two sessions of one identity. */
export const SUITE_SESSION_LIMIT = 2;

export interface NamespaceFromPkiOptions {
  name?: string;
  maximumClientSessionsPerAuthenticationName?: number;
  maximumSessionExpiryInHours?: number;
  alternativeAuthenticationNameSources?: AuthenticationNameSource[];
  reference?: NamespaceInput['reference'];
  /** Whether the namespace trusts the set's local token issuer (custom JWT, T1-T8); default true. */
  customJwt?: boolean;
  /** A webhook that authenticates every CONNECT presenting no custom JWT (W1-W3). */
  webhookAuthentication?: { endpointUrl: string };
  /** The first topic level(s) of every topic the suite uses; the grants are scoped to it (eventgrid/suite-contract.ts). Default `mmc`. */
  topicRoot?: string;
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
      clientAuthentication: {
        alternativeAuthenticationNameSources: options.alternativeAuthenticationNameSources ?? [],
        // T1-T8: the set's local issuer is trusted, as a namespace trusts its custom JWT identity provider.
        customJwtAuthentication: options.customJwt === false ? undefined : localIssuerSettings(pki),
        ...(options.webhookAuthentication ? { webhookAuthentication: options.webhookAuthentication } : {}),
      },
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
        // The suite's client group is the identities of role 'client' (eventgrid/suite-contract.ts).
        attributes: { role: identity.role },
      })),
    ...suiteAccessControl(options.topicRoot),
    // E1, E2: the local Entra ID stand-in, with the custom JWT issuer (a reference-only setting).
    reference: { ...(options.customJwt === false ? {} : { entraId: localEntraSettings(pki, SUITE_TOPIC_SPACES) }), ...options.reference },
  });
}
