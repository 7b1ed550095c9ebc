// A namespace description as an ARM template of the child resources of an existing namespace
// (Microsoft.EventGrid/namespaces caCertificates, clients, clientGroups, topicSpaces and
// permissionBindings, API 2025-02-15), and back: one description serves the cloud and the reference broker.
//
// The namespace itself is declared `existing` (languageVersion 2.0): deploying the template adds and
// updates only the children, never the namespace's sku, location or other settings. Its settings
// (sessions per name, expiry, name sources, custom JWT, webhook) can be set in a template only by
// redeclaring the whole namespace, so the template carries them as metadata, not as a resource: the
// reference broker reads them from there, and `provision` writes them as an az step of their own
// (provision/az-script.ts) that sets each one only where it differs.
import { UserError } from '../common/errors.ts';
import { parseNamespace, type NamespaceConfig } from './namespace.ts';

export const API_VERSION = '2025-02-15';
/** The namespace's API when it authenticates by custom JWT with uploaded certificates or by webhook (the 2025 preview that has both). */
export const AUTHENTICATION_API_VERSION = '2025-04-01-preview';
const SCHEMA = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#';
export const NAMESPACE_TYPE = 'Microsoft.EventGrid/namespaces';
const CA_TYPE = 'Microsoft.EventGrid/namespaces/caCertificates';
const CLIENT_TYPE = 'Microsoft.EventGrid/namespaces/clients';
const CLIENT_GROUP_TYPE = 'Microsoft.EventGrid/namespaces/clientGroups';
const TOPIC_SPACE_TYPE = 'Microsoft.EventGrid/namespaces/topicSpaces';
const PERMISSION_BINDING_TYPE = 'Microsoft.EventGrid/namespaces/permissionBindings';
/** The namespace's symbolic name in the template. */
const NAMESPACE_SYMBOL = 'namespace';

export interface ArmResource {
  type: string;
  apiVersion: string;
  name: string;
  /** A resource the template refers to and does not deploy. */
  existing?: boolean;
  location?: string;
  sku?: { name: string; capacity: number };
  dependsOn?: string[];
  properties?: Record<string, unknown>;
}

export interface ArmTemplate {
  $schema: string;
  /** 2.0: resources keyed by symbolic name, which `existing` needs. */
  languageVersion?: string;
  contentVersion: string;
  metadata?: { description?: string; namespaceSettings?: Record<string, unknown> };
  parameters: Record<string, { type: string; defaultValue?: unknown; metadata?: { description: string } }>;
  /** An array (languageVersion 1) or an object keyed by symbolic name (2.0). */
  resources: ArmResource[] | Record<string, ArmResource>;
  outputs?: Record<string, unknown>;
}

/** Event Grid's API rejects a PEM with newlines in it: the certificate goes on one line. */
export function oneLinePem(pem: string): string {
  return pem.replace(/\r?\n/g, '');
}

const childName = (name: string) => `[format('{0}/{1}', parameters('namespaceName'), '${name}')]`;
const withDescription = (resource: { description?: string }) => (resource.description ? { description: resource.description } : {});

/** The client authentication settings as Event Grid's API takes them: certificates on one line. */
export function armClientAuthentication(namespace: NamespaceConfig): Record<string, unknown> {
  const { customJwtAuthentication, ...rest } = namespace.topicSpacesConfiguration.clientAuthentication;
  if (!customJwtAuthentication) return rest;
  const encodedIssuerCertificates = customJwtAuthentication.encodedIssuerCertificates.map((certificate) => ({ ...certificate, encodedCertificate: oneLinePem(certificate.encodedCertificate) }));
  return { ...rest, customJwtAuthentication: { ...customJwtAuthentication, encodedIssuerCertificates } };
}

/** Whether the namespace uses authentication that only the preview API has (custom JWT, webhook). */
export function needsAuthenticationApi(namespace: NamespaceConfig): boolean {
  const { customJwtAuthentication, webhookAuthentication } = namespace.topicSpacesConfiguration.clientAuthentication;
  return customJwtAuthentication !== undefined || webhookAuthentication !== undefined;
}

/** A child's symbolic name: its kind and its own name, as an identifier. */
const symbol = (kind: string, name: string) => `${kind}_${name.replace(/\W/g, '_')}`;

export function namespaceToArm(namespace: NamespaceConfig): ArmTemplate {
  const child = (kind: string, type: string, name: string, properties: Record<string, unknown>, dependsOn: string[] = []): [string, ArmResource] => [
    symbol(kind, name),
    { type, apiVersion: API_VERSION, name: childName(name), ...(dependsOn.length ? { dependsOn } : {}), properties },
  ];
  const resources = [
    [NAMESPACE_SYMBOL, { type: NAMESPACE_TYPE, apiVersion: API_VERSION, name: "[parameters('namespaceName')]", existing: true }] as [string, ArmResource],
    ...namespace.caCertificates.map((ca) => child('ca', CA_TYPE, ca.name, { encodedCertificate: oneLinePem(ca.encodedCertificate) })),
    ...namespace.clients.map((client) =>
      child(
        'client',
        CLIENT_TYPE,
        client.name,
        {
          authenticationName: client.authenticationName,
          state: client.state,
          clientCertificateAuthentication: client.clientCertificateAuthentication,
          attributes: client.attributes,
          ...withDescription(client),
        },
        namespace.caCertificates.map((ca) => symbol('ca', ca.name)),
      ),
    ),
    ...namespace.clientGroups.map((group) => child('group', CLIENT_GROUP_TYPE, group.name, { query: group.query, ...withDescription(group) })),
    ...namespace.topicSpaces.map((space) => child('space', TOPIC_SPACE_TYPE, space.name, { topicTemplates: space.topicTemplates, ...withDescription(space) })),
    ...namespace.permissionBindings.map((binding) =>
      child(
        'binding',
        PERMISSION_BINDING_TYPE,
        binding.name,
        { clientGroupName: binding.clientGroupName, topicSpaceName: binding.topicSpaceName, permission: binding.permission, ...withDescription(binding) },
        // $all is built in: nothing to wait for.
        [symbol('space', binding.topicSpaceName), ...(binding.clientGroupName.startsWith('$') ? [] : [symbol('group', binding.clientGroupName)])],
      ),
    ),
  ];
  return {
    $schema: SCHEMA,
    languageVersion: '2.0',
    contentVersion: '1.0.0.0',
    metadata: {
      description:
        'Child resources of an existing Event Grid namespace: deploying adds or updates them and nothing else. namespaceSettings are what the suite expects of the namespace itself; this template does not set them (the settings step of `provision` does, where they differ).',
      namespaceSettings: { ...namespace.topicSpacesConfiguration, clientAuthentication: armClientAuthentication(namespace) },
    },
    parameters: {
      namespaceName: { type: 'string', defaultValue: namespace.name, metadata: { description: 'The Event Grid namespace, which must exist with its MQTT broker enabled' } },
    },
    resources: Object.fromEntries(resources),
    outputs: {
      mqttHostname: { type: 'string', value: `[reference('${NAMESPACE_SYMBOL}').topicSpacesConfiguration.hostname]` },
    },
  };
}

/** The namespace's children as the template deploys them, in its order: kind, own name and properties. */
export function childResources(namespace: NamespaceConfig): Array<{ type: string; name: string; properties: Record<string, unknown> }> {
  return armResources(namespaceToArm(namespace))
    .filter((resource) => !resource.existing)
    .map((resource) => ({ type: resource.type, name: childOf(resource.name), properties: resource.properties ?? {} }));
}

/** A template's resources, whichever form it declares them in. */
export function armResources(template: ArmTemplate): ArmResource[] {
  return Array.isArray(template.resources) ? template.resources : Object.values(template.resources);
}

export function isArmTemplate(json: unknown): json is ArmTemplate {
  const resources = (json as ArmTemplate | null)?.resources;
  return typeof json === 'object' && json !== null && typeof resources === 'object' && resources !== null && typeof (json as ArmTemplate).$schema === 'string';
}

/** The child's own name, from "ns/child" or from this generator's format('{0}/{1}', …, 'child'). */
function childOf(name: string): string {
  const literal = /'([^']+)'\)\]$/.exec(name)?.[1];
  return literal ?? name.split('/').pop()!;
}

/**
 * The namespace an ARM template describes: its children, and its settings from the namespace resource
 * (a template that deploys it) or from the metadata (one that refers to an existing namespace, as
 * `provision` writes). A template that names no namespace is a configuration error.
 */
export function armToNamespace(template: ArmTemplate, source = 'ARM template'): NamespaceConfig {
  const resources = armResources(template);
  const namespaceResource = resources.find((resource) => resource.type === NAMESPACE_TYPE);
  if (!namespaceResource) throw new UserError(`${source} declares no ${NAMESPACE_TYPE} resource`);
  const nameParameter = template.parameters?.namespaceName?.defaultValue;
  // Only kinds the template declares: a template without them leaves the namespace's defaults.
  const children = (type: string, key: string) => {
    const found = resources.filter((resource) => resource.type === type);
    return found.length ? { [key]: found.map((resource) => ({ name: childOf(resource.name), ...resource.properties })) } : {};
  };
  const settings = namespaceResource.properties?.topicSpacesConfiguration ?? template.metadata?.namespaceSettings ?? {};
  const { state: _state, ...topicSpaces } = settings as Record<string, unknown>;
  return parseNamespace(
    {
      name: typeof nameParameter === 'string' ? nameParameter : childOf(namespaceResource.name),
      topicSpacesConfiguration: topicSpaces,
      caCertificates: resources
        .filter((resource) => resource.type === CA_TYPE)
        .map((resource) => ({ name: childOf(resource.name), encodedCertificate: resource.properties?.encodedCertificate })),
      clients: resources.filter((resource) => resource.type === CLIENT_TYPE).map((resource) => ({ name: childOf(resource.name), ...resource.properties })),
      ...children(CLIENT_GROUP_TYPE, 'clientGroups'),
      ...children(TOPIC_SPACE_TYPE, 'topicSpaces'),
      ...children(PERMISSION_BINDING_TYPE, 'permissionBindings'),
    },
    source,
  );
}
