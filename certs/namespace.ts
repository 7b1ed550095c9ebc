// The namespace that registers a PKI set: its intermediate CA, every identity of its manifest, and the
// permissions the suite's scenarios need, as the reference broker's default namespace and
// `npm run provision` use it.
import { UserError } from '../common/errors.ts';
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
  /** The first topic level(s) of every topic the suite uses; the grants are scoped to it. Default `mmc`. */
  topicRoot?: string;
}

/** The suite's topics: `<root>/<authentication name>/<session>/inbox` (steps/world.ts). */
export const DEFAULT_TOPIC_ROOT = 'mmc';

/** Checks a --topic-root: one or more plain topic levels, no wildcards, not reserved. */
export function checkTopicRoot(root: string): string {
  if (!/^[^/$+#][^+#]*$/.test(root) || root.endsWith('/') || root.includes('//') || root.includes('${')) {
    throw new UserError(`topic root "${root}" must be one or more topic levels without "+", "#", "\${" or an empty level, not starting with "$"`);
  }
  return root;
}

/**
 * What the suite's scenarios need, and no more (P1-P4): every client publishes and subscribes under
 * `<root>/<its own authentication name>/`, and the observer identity publishes to every client's topics.
 */
export function suiteAccessControl(topicRoot = DEFAULT_TOPIC_ROOT): Pick<NamespaceConfig, 'clientGroups' | 'topicSpaces' | 'permissionBindings'> {
  const root = checkTopicRoot(topicRoot);
  return {
    clientGroups: [
      { name: 'conformance-clients', query: "attributes.role = 'client'", description: 'identities the conformance scenarios connect as' },
      { name: 'conformance-observers', query: "authenticationName IN ['observer']", description: 'publishes to the sessions under test' },
    ],
    topicSpaces: [
      { name: 'conformance-own-topics', topicTemplates: [`${root}/\${client.authenticationName}/#`], description: "a client's own topics" },
      { name: 'conformance-all-clients', topicTemplates: [`${root}/+/#`], description: "every client's topics, for the observer" },
    ],
    permissionBindings: [
      { name: 'conformance-clients-publish', clientGroupName: 'conformance-clients', topicSpaceName: 'conformance-own-topics', permission: 'Publisher' },
      { name: 'conformance-clients-subscribe', clientGroupName: 'conformance-clients', topicSpaceName: 'conformance-own-topics', permission: 'Subscriber' },
      { name: 'conformance-observers-publish', clientGroupName: 'conformance-observers', topicSpaceName: 'conformance-all-clients', permission: 'Publisher' },
    ],
  };
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
    ...suiteAccessControl(options.topicRoot),
    reference: options.reference ?? {},
  });
}
