// The settings of the namespace itself that provisioning asks for: each is set only where it differs
// from what the namespace has, and name sources are only ever added, so that nothing else changes.
import type { NamespaceConfig } from '../eventgrid/namespace.ts';
import type { AuthenticationNameSource } from '../eventgrid/authentication.ts';
import { API_VERSION, armClientAuthentication, AUTHENTICATION_API_VERSION } from '../eventgrid/arm-template.ts';

/** One setting under the namespace's topicSpacesConfiguration, at the API version that has it. */
export interface NamespaceSetting {
  /** Its path under topicSpacesConfiguration, as `az --query` and `az resource update --set` name it. */
  path: string;
  value: string | number | Record<string, unknown>;
  apiVersion: string;
}

export const NAME_SOURCES_PATH = 'clientAuthentication.alternativeAuthenticationNameSources';

/** The settings provisioning sets: the MQTT broker on, the session settings, and the authentication asked for. */
export function namespaceSettings(namespace: NamespaceConfig): NamespaceSetting[] {
  const tsc = namespace.topicSpacesConfiguration;
  const { customJwtAuthentication, webhookAuthentication } = armClientAuthentication(namespace) as Record<string, Record<string, unknown> | undefined>;
  const at = (path: string, value: NamespaceSetting['value'], apiVersion = API_VERSION) => ({ path, value, apiVersion });
  return [
    at('state', 'Enabled'),
    at('maximumSessionExpiryInHours', tsc.maximumSessionExpiryInHours),
    at('maximumClientSessionsPerAuthenticationName', tsc.maximumClientSessionsPerAuthenticationName),
    // The az eventgrid commands do not take these yet: they need the preview API that has them.
    ...(customJwtAuthentication ? [at('clientAuthentication.customJwtAuthentication', customJwtAuthentication, AUTHENTICATION_API_VERSION)] : []),
    ...(webhookAuthentication ? [at('clientAuthentication.webhookAuthentication', webhookAuthentication, AUTHENTICATION_API_VERSION)] : []),
  ];
}

/** The name sources provisioning adds where missing (only those asked for: the default is none). */
export function askedNameSources(namespace: NamespaceConfig): readonly AuthenticationNameSource[] {
  return namespace.topicSpacesConfiguration.clientAuthentication.alternativeAuthenticationNameSources;
}
