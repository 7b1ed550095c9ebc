// Microsoft Entra ID tokens (E1, E2), against the reference's stand-in for a tenant: what an OAUTH2-JWT
// token must be (the token checks, policy/token.ts, with these expectations), the topic templates a
// principal's Azure role assignments grant it, and the mutants that break them.
import type { Permission } from '../../eventgrid/access-control.ts';
import type { EntraSettings, NamespaceConfig } from '../../eventgrid/namespace.ts';
import type { AuthenticatedClient, Mutant, TokenExpectations } from './behaviour.ts';
import { grantedTemplates } from './access.ts';
import { OAUTH2_JWT } from './token.ts';

/** The audience of every Entra ID token for Event Grid's MQTT broker, as the docs give it. */
export const ENTRA_AUDIENCE = 'https://eventgrid.azure.net/';

/** The issuers of a tenant's tokens: Entra's v1 and v2 token forms. */
export function entraIssuers(tenantId: string): string[] {
  return [`https://sts.windows.net/${tenantId}/`, `https://login.microsoftonline.com/${tenantId}/v2.0`];
}

/** E1: an OAUTH2-JWT token of the tenant, for Event Grid, names its principal by its object id (oid). */
export function entraExpectations(entra: EntraSettings): TokenExpectations {
  return { method: OAUTH2_JWT, issuers: entraIssuers(entra.tenantId), audience: ENTRA_AUDIENCE, nameClaim: 'oid' };
}

const ROLE_PERMISSION: Record<EntraSettings['roleAssignments'][number]['roleDefinitionName'], Permission> = {
  'EventGrid TopicSpaces Publisher': 'Publisher',
  'EventGrid TopicSpaces Subscriber': 'Subscriber',
};

/** E2: the topic templates a principal's role assignments grant it, per permission: a namespace-scope assignment covers every topic space. */
export function roleGrantsOf(namespace: NamespaceConfig, entra: EntraSettings, principalId: string): NonNullable<AuthenticatedClient['roleGrants']> {
  const grants: Record<Permission, string[]> = { Publisher: [], Subscriber: [] };
  for (const assignment of entra.roleAssignments) {
    if (assignment.principalId.toLowerCase() !== principalId.toLowerCase()) continue;
    const scope = assignment.topicSpaceName?.toLowerCase();
    const spaces = namespace.topicSpaces.filter((space) => scope === undefined || space.name.toLowerCase() === scope);
    grants[ROLE_PERMISSION[assignment.roleDefinitionName]].push(...spaces.flatMap((space) => space.topicTemplates));
  }
  return grants;
}

export const ENTRA_MUTANTS: readonly Mutant[] = [
  {
    rule: 'E1',
    breaks: "an Entra token's client is named by its subject (sub), which Entra makes per application, not by its object id (oid)",
    apply: (behaviour) => ({ ...behaviour, nameOfToken: (claims, username, nameClaim) => behaviour.nameOfToken(claims, username, nameClaim === 'oid' ? 'sub' : nameClaim) }),
  },
  {
    rule: 'E2',
    breaks: "an Entra principal's role assignments are ignored: the permission bindings of its client groups apply, as to a registered client",
    apply: (behaviour) => ({ ...behaviour, grantsOf: (namespace, client, permission) => grantedTemplates(namespace, client, permission) }),
  },
];
