// A namespace description as an ARM template (Microsoft.EventGrid namespaces, caCertificates and
// clients, API 2025-02-15), and back: one description serves the cloud and the reference broker.
import { UserError } from '../common/errors.ts';
import { parseNamespace, type NamespaceConfig } from './namespace.ts';

export const API_VERSION = '2025-02-15';
const SCHEMA = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#';
const NAMESPACE_TYPE = 'Microsoft.EventGrid/namespaces';
const CA_TYPE = 'Microsoft.EventGrid/namespaces/caCertificates';
const CLIENT_TYPE = 'Microsoft.EventGrid/namespaces/clients';

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
        apiVersion: API_VERSION,
        name: "[parameters('namespaceName')]",
        location: "[parameters('location')]",
        sku: { name: 'Standard', capacity: 1 },
        properties: {
          topicSpacesConfiguration: {
            state: 'Enabled',
            maximumSessionExpiryInHours: topicSpacesConfiguration.maximumSessionExpiryInHours,
            maximumClientSessionsPerAuthenticationName: topicSpacesConfiguration.maximumClientSessionsPerAuthenticationName,
            clientAuthentication: topicSpacesConfiguration.clientAuthentication,
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
    },
    source,
  );
}
