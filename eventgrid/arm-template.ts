// A namespace description as an ARM template (Microsoft.EventGrid namespaces, caCertificates,
// clients, clientGroups, topicSpaces and permissionBindings, API 2025-02-15), and back: one description serves the cloud and the reference broker.
import { UserError } from '../common/errors.ts';
import { parseNamespace, type NamespaceConfig } from './namespace.ts';

export const API_VERSION = '2025-02-15';
/** The namespace's API when it authenticates by custom JWT with uploaded certificates or by webhook (the 2025 preview that has both). */
export const AUTHENTICATION_API_VERSION = '2025-04-01-preview';
const SCHEMA = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#';
const NAMESPACE_TYPE = 'Microsoft.EventGrid/namespaces';
const CA_TYPE = 'Microsoft.EventGrid/namespaces/caCertificates';
const CLIENT_TYPE = 'Microsoft.EventGrid/namespaces/clients';
const CLIENT_GROUP_TYPE = 'Microsoft.EventGrid/namespaces/clientGroups';
const TOPIC_SPACE_TYPE = 'Microsoft.EventGrid/namespaces/topicSpaces';
const PERMISSION_BINDING_TYPE = 'Microsoft.EventGrid/namespaces/permissionBindings';

export interface ArmResource {
  type: string;
  apiVersion: string;
  name: string;
  location?: string;
  sku?: { name: string; capacity: number };
  dependsOn?: string[];
  properties: Record<string, unknown>;
}

export interface ArmTemplate {
  $schema: string;
  contentVersion: string;
  parameters: Record<string, { type: string; defaultValue?: unknown; metadata?: { description: string } }>;
  resources: ArmResource[];
  outputs?: Record<string, unknown>;
}

/** Event Grid's API rejects a PEM with newlines in it: the certificate goes on one line. */
export function oneLinePem(pem: string): string {
  return pem.replace(/\r?\n/g, '');
}

const childName = (name: string) => `[format('{0}/{1}', parameters('namespaceName'), '${name}')]`;
const NAMESPACE_ID = "[resourceId('Microsoft.EventGrid/namespaces', parameters('namespaceName'))]";
const childId = (type: string, name: string) => `[resourceId('${type}', parameters('namespaceName'), '${name}')]`;
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

export function namespaceToArm(namespace: NamespaceConfig): ArmTemplate {
  const { topicSpacesConfiguration } = namespace;
  return {
    $schema: SCHEMA,
    contentVersion: '1.0.0.0',
    parameters: {
      namespaceName: { type: 'string', defaultValue: namespace.name, metadata: { description: 'The Event Grid namespace' } },
      location: { type: 'string', defaultValue: '[resourceGroup().location]' },
    },
    resources: [
      {
        type: NAMESPACE_TYPE,
        apiVersion: needsAuthenticationApi(namespace) ? AUTHENTICATION_API_VERSION : API_VERSION,
        name: "[parameters('namespaceName')]",
        location: "[parameters('location')]",
        sku: { name: 'Standard', capacity: 1 },
        properties: {
          topicSpacesConfiguration: {
            state: 'Enabled',
            maximumSessionExpiryInHours: topicSpacesConfiguration.maximumSessionExpiryInHours,
            maximumClientSessionsPerAuthenticationName: topicSpacesConfiguration.maximumClientSessionsPerAuthenticationName,
            clientAuthentication: armClientAuthentication(namespace),
          },
        },
      },
      ...namespace.caCertificates.map((ca) => ({
        type: CA_TYPE,
        apiVersion: API_VERSION,
        name: childName(ca.name),
        dependsOn: [NAMESPACE_ID],
        properties: { encodedCertificate: oneLinePem(ca.encodedCertificate) },
      })),
      ...namespace.clients.map((client) => ({
        type: CLIENT_TYPE,
        apiVersion: API_VERSION,
        name: childName(client.name),
        dependsOn: [NAMESPACE_ID, ...namespace.caCertificates.map((ca) => `[resourceId('${CA_TYPE}', parameters('namespaceName'), '${ca.name}')]`)],
        properties: {
          authenticationName: client.authenticationName,
          state: client.state,
          clientCertificateAuthentication: client.clientCertificateAuthentication,
          attributes: client.attributes,
          ...(client.description ? { description: client.description } : {}),
        },
      })),
      ...namespace.clientGroups.map((group) => ({
        type: CLIENT_GROUP_TYPE,
        apiVersion: API_VERSION,
        name: childName(group.name),
        dependsOn: [NAMESPACE_ID],
        properties: { query: group.query, ...withDescription(group) },
      })),
      ...namespace.topicSpaces.map((space) => ({
        type: TOPIC_SPACE_TYPE,
        apiVersion: API_VERSION,
        name: childName(space.name),
        dependsOn: [NAMESPACE_ID],
        properties: { topicTemplates: space.topicTemplates, ...withDescription(space) },
      })),
      ...namespace.permissionBindings.map((binding) => ({
        type: PERMISSION_BINDING_TYPE,
        apiVersion: API_VERSION,
        name: childName(binding.name),
        dependsOn: [
          NAMESPACE_ID,
          childId(TOPIC_SPACE_TYPE, binding.topicSpaceName),
          // $all is built in: nothing to wait for.
          ...(binding.clientGroupName.startsWith('$') ? [] : [childId(CLIENT_GROUP_TYPE, binding.clientGroupName)]),
        ],
        properties: {
          clientGroupName: binding.clientGroupName,
          topicSpaceName: binding.topicSpaceName,
          permission: binding.permission,
          ...withDescription(binding),
        },
      })),
    ],
    outputs: {
      mqttHostname: { type: 'string', value: `[reference(${NAMESPACE_ID.slice(1, -1)}, '${API_VERSION}').topicSpacesConfiguration.hostname]` },
    },
  };
}

export function isArmTemplate(json: unknown): json is ArmTemplate {
  return typeof json === 'object' && json !== null && Array.isArray((json as ArmTemplate).resources) && typeof (json as ArmTemplate).$schema === 'string';
}

/** The child's own name, from "ns/child" or from this generator's format('{0}/{1}', …, 'child'). */
function childOf(name: string): string {
  const literal = /'([^']+)'\)\]$/.exec(name)?.[1];
  return literal ?? name.split('/').pop()!;
}

/** The namespace an ARM template declares; a template without one is a configuration error. */
export function armToNamespace(template: ArmTemplate, source = 'ARM template'): NamespaceConfig {
  const namespaceResource = template.resources.find((resource) => resource.type === NAMESPACE_TYPE);
  if (!namespaceResource) throw new UserError(`${source} declares no ${NAMESPACE_TYPE} resource`);
  const nameParameter = template.parameters?.namespaceName?.defaultValue;
  // Only kinds the template declares: a template without them leaves the namespace's defaults.
  const children = (type: string, key: string) => {
    const found = template.resources.filter((resource) => resource.type === type);
    return found.length ? { [key]: found.map((resource) => ({ name: childOf(resource.name), ...resource.properties })) } : {};
  };
  const { state: _state, ...topicSpaces } = (namespaceResource.properties?.topicSpacesConfiguration ?? {}) as Record<string, unknown>;
  return parseNamespace(
    {
      name: typeof nameParameter === 'string' ? nameParameter : childOf(namespaceResource.name),
      topicSpacesConfiguration: topicSpaces,
      caCertificates: template.resources
        .filter((resource) => resource.type === CA_TYPE)
        .map((resource) => ({ name: childOf(resource.name), encodedCertificate: resource.properties?.encodedCertificate })),
      clients: template.resources
        .filter((resource) => resource.type === CLIENT_TYPE)
        .map((resource) => ({ name: childOf(resource.name), ...resource.properties })),
      ...children(CLIENT_GROUP_TYPE, 'clientGroups'),
      ...children(TOPIC_SPACE_TYPE, 'topicSpaces'),
      ...children(PERMISSION_BINDING_TYPE, 'permissionBindings'),
    },
    source,
  );
}
