// The namespace configuration: what an Event Grid namespace knows about sessions and clients, in the
// shape of Event Grid's own resources (namespace topicSpacesConfiguration, caCertificates, clients),
// plus a `reference` section for settings only the reference broker has.
import { z } from 'zod';
import { UserError } from '../common/errors.ts';
import { NAME_SOURCES, VALIDATION_SCHEMES } from './authentication.ts';
import { LIMITS } from '../rules/limits.ts';
import {
  ALL_CLIENTS_GROUP,
  MAX_CLIENT_GROUPS,
  MAX_TOPIC_TEMPLATES,
  parseQuery,
  PERMISSIONS,
  QueryError,
  RESOURCE_NAME,
  templateProblem,
} from './access-control.ts';


/**
 * Event Grid takes a PEM certificate on one line (its API rejects newlines); Node wants the usual
 * 64-column form. Either is accepted here and stored in the latter.
 */
const pemCertificate = z
  .string()
  .regex(/^\s*-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*$/, 'must be a PEM certificate')
  .transform((pem) => {
    const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
    return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  });

const clientSchema = z.object({
  name: z.string().min(1),
  // A4: 1 to 128 characters.
  authenticationName: z.string().min(1).max(128),
  state: z.enum(['Enabled', 'Disabled']).default('Enabled'),
  clientCertificateAuthentication: z
    .object({
      validationScheme: z.enum(VALIDATION_SCHEMES).default('SubjectMatchesAuthenticationName'),
      // A3: at most 2 thumbprints.
      allowedThumbprints: z.array(z.string().regex(/^[0-9A-Fa-f]{64}$/, 'must be a SHA-256 thumbprint in hex')).max(2).default([]),
    })
    .strict()
    .default({ validationScheme: 'SubjectMatchesAuthenticationName', allowedThumbprints: [] }),
  attributes: z.record(z.string(), z.unknown()).default({}),
  description: z.string().optional(),
}).strict();

const resourceName = z.string().regex(RESOURCE_NAME, 'must be 3 to 50 letters, digits and hyphens');

// Access control (P1-P4): resources of type namespaces/clientGroups, /topicSpaces, /permissionBindings.
const clientGroupSchema = z
  .object({
    name: resourceName,
    query: z.string().superRefine((query, context) => {
      try {
        parseQuery(query);
      } catch (error) {
        if (!(error instanceof QueryError)) throw error;
        context.addIssue({ code: 'custom', message: `not a client group query: ${error.message}` });
      }
    }),
    description: z.string().optional(),
  })
  .strict();

// Webhook authentication (W1-W3): Event Grid's webHookAuthentication settings. The Entra application and
// tenant say how Event Grid gets the bearer token it calls the webhook with; the reference sends none.
const webhookSchema = z
  .object({
    endpointUrl: z.url({ protocol: /^https?$/ }),
    azureActiveDirectoryApplicationIdOrUri: z.string().min(1).optional(),
    azureActiveDirectoryTenantId: z.string().min(1).optional(),
  })
  .strict();

const topicSpaceSchema = z
  .object({
    name: resourceName,
    topicTemplates: z
      .array(
        z.string().superRefine((template, context) => {
          const problem = templateProblem(template);
          if (problem) context.addIssue({ code: 'custom', message: problem });
        }),
      )
      .min(1, 'a topic space needs at least one topic template')
      .max(MAX_TOPIC_TEMPLATES, `a topic space holds at most ${MAX_TOPIC_TEMPLATES} topic templates`),
    description: z.string().optional(),
  })
  .strict();

const permissionBindingSchema = z
  .object({
    name: resourceName,
    clientGroupName: z.string().min(1),
    topicSpaceName: z.string().min(1),
    permission: z.enum(PERMISSIONS),
    description: z.string().optional(),
  })
  .strict();

/** The ranges Event Grid documents for a namespace's session settings (S9, L1). */
export const SESSIONS_PER_NAME_RANGE = { min: 1, max: 100 } as const;
export const SESSION_EXPIRY_HOURS_RANGE = { min: 1, max: 8 } as const;

/** The Azure built-in roles that let a Microsoft Entra principal publish or subscribe (E2). */
export const ENTRA_ROLES = ['EventGrid TopicSpaces Publisher', 'EventGrid TopicSpaces Subscriber'] as const;

/** The audience a token must name when the namespace sets none (the custom JWT page's value; rules/catalogue.ts T3). */
export const DEFAULT_TOKEN_AUDIENCE = 'https://eventgrid.azure.net/';

// Custom JWT (T1-T8): Event Grid's customJwtAuthentication settings, with the issuer certificates
// uploaded as PEM (encodedIssuerCertificates; Event Grid also takes Key Vault URLs, issuerCertificates,
// which a local broker cannot read).
const customJwtSchema = z
  .object({
    tokenIssuer: z.string().min(1),
    // T4: at most two issuer certificates, so that a key can be rolled over.
    encodedIssuerCertificates: z.array(z.object({ kid: z.string().min(1).optional(), encodedCertificate: pemCertificate }).strict()).min(1).max(2),
  })
  .strict();

export const namespaceSchema = z
  .object({
    name: z.string().min(1).default('reference'),
    topicSpacesConfiguration: z
      .object({
        // L1: 1 to 8 hours, default 1.
        maximumSessionExpiryInHours: z.number().int().min(SESSION_EXPIRY_HOURS_RANGE.min).max(SESSION_EXPIRY_HOURS_RANGE.max).default(1),
        // S9: 1 to 100 sessions per authentication name, default 1.
        maximumClientSessionsPerAuthenticationName: z.number().int().min(SESSIONS_PER_NAME_RANGE.min).max(SESSIONS_PER_NAME_RANGE.max).default(1),
        clientAuthentication: z
          .object({ alternativeAuthenticationNameSources: z.array(z.enum(NAME_SOURCES)).default([]), customJwtAuthentication: customJwtSchema.optional(), webhookAuthentication: webhookSchema.optional() })
          .strict()
          .default({ alternativeAuthenticationNameSources: [] }),
      })
      .strict()
      .default({
        maximumSessionExpiryInHours: 1,
        maximumClientSessionsPerAuthenticationName: 1,
        clientAuthentication: { alternativeAuthenticationNameSources: [] },
      }),
    // A3: at most 10 CA certificates per namespace.
    caCertificates: z.array(z.object({ name: z.string().min(1), encodedCertificate: pemCertificate }).strict()).max(10).default([]),
    clients: z.array(clientSchema).default([]),
    clientGroups: z.array(clientGroupSchema).max(MAX_CLIENT_GROUPS, `a namespace holds at most ${MAX_CLIENT_GROUPS} client groups`).default([]),
    topicSpaces: z.array(topicSpaceSchema).default([]),
    permissionBindings: z.array(permissionBindingSchema).default([]),
    reference: z
      .object({
        // Stands in for maximumSessionExpiryInHours when set, so that tests need not wait an hour.
        maximumSessionExpiryInSeconds: z.number().int().min(1).max(8 * 3600).optional(),
        // T3: the audience a custom JWT must name. Event Grid fixes it, and its pages word it three ways
        // (rules/catalogue.ts): a namespace setting here, Event Grid's most documented form by default.
        customJwtAudience: z.string().min(1).default(DEFAULT_TOKEN_AUDIENCE),
        // E1, E2: a local stand-in for Microsoft Entra ID (OAUTH2-JWT): its tenant, the certificates of
        // its signing keys, and the Azure role assignments (EventGrid TopicSpaces Publisher, Subscriber)
        // of its principals, by object id, on the namespace (no topicSpaceName) or one topic space.
        entraId: z
          .object({
            tenantId: z.string().min(1),
            signingCertificates: z.array(z.object({ encodedCertificate: pemCertificate }).strict()).min(1).max(2),
            roleAssignments: z
              .array(
                z
                  .object({
                    principalId: z.string().min(1),
                    roleDefinitionName: z.enum(ENTRA_ROLES),
                    topicSpaceName: z.string().min(1).optional(),
                  })
                  .strict(),
              )
              .default([]),
          })
          .strict()
          .optional(),
        // W3: how long the webhook has to answer; past it the CONNECT is refused (the docs recommend the
        // webhook answer within about 5 seconds).
        webhookTimeoutMs: z.number().int().min(50).max(30_000).default(5000),
        // S4: what an MQTT 5 CONNECT with an empty ClientID gets. The pages disagree (rules/catalogue.ts):
        // "the ClientId field is required" (SUPPORT, HOWTO) against Assigned Client Identifiers listed as
        // supported (SUPPORT, 2025). No namespace property chooses; "refused", the stricter reading, by
        // default. MQTT 3.1.1 is refused under both (it has no way to tell the client a name).
        emptyClientId: z.enum(['refused', 'assigned']).default('refused'),
        // Limits Event Grid fixes (no namespace property sets them): Event Grid's values by default,
        // lower values so that a device team can try its clients against tighter ones.
        limits: z
          .object({
            sessionQueueMessages: z.number().int().min(1).max(LIMITS.sessionQueueMessages.value).default(LIMITS.sessionQueueMessages.value),
            sessionQueueBytes: z.number().int().min(1).max(LIMITS.sessionQueueBytes.value).default(LIMITS.sessionQueueBytes.value),
            subscriptionsPerSession: z.number().int().min(1).max(LIMITS.subscriptionsPerSession.value).default(LIMITS.subscriptionsPerSession.value),
            topicBytes: z.number().int().min(1).max(LIMITS.topicBytes.value).default(LIMITS.topicBytes.value),
            topicLevels: z.number().int().min(1).max(LIMITS.topicLevels.value).default(LIMITS.topicLevels.value),
            keepAliveSeconds: z.number().int().min(1).max(LIMITS.keepAliveSeconds.value).default(LIMITS.keepAliveSeconds.value),
            // L15: the largest packet a client may send, bytes, fixed header included (read no further, before authentication).
            maximumPacketSize: z.number().int().min(128).max(LIMITS.maximumPacketSize.value).default(LIMITS.maximumPacketSize.value),
            // L18: the largest payload a retained PUBLISH may carry, bytes.
            retainedMessageBytes: z.number().int().min(1).max(LIMITS.retainedMessageBytes.value).default(LIMITS.retainedMessageBytes.value),
            // L19: the longest Will Delay Interval, seconds; a longer one is lowered to it.
            willDelaySeconds: z.number().int().min(0).max(LIMITS.willDelaySeconds.value).default(LIMITS.willDelaySeconds.value),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((namespace, context) => {
    // A4: authentication names are unique without regard to case; client resource names are unique.
    const seen = new Map<string, number>();
    const names = new Set<string>();
    namespace.clients.forEach((client, index) => {
      const key = client.authenticationName.toLowerCase();
      if (seen.has(key)) {
        context.addIssue({
          code: 'custom',
          path: ['clients', index, 'authenticationName'],
          message: `"${client.authenticationName}" is already the authentication name of clients[${seen.get(key)}] (names compare without regard to case)`,
        });
      }
      seen.set(key, index);
      if (names.has(client.name)) {
        context.addIssue({ code: 'custom', path: ['clients', index, 'name'], message: `client name "${client.name}" is used twice` });
      }
      names.add(client.name);
    });
    // Access control: names unique per kind; a binding names a group ($all or declared) and a topic space.
    const unique = (kind: 'clientGroups' | 'topicSpaces' | 'permissionBindings') => {
      const seenNames = new Set<string>();
      namespace[kind].forEach((resource, index) => {
        if (seenNames.has(resource.name.toLowerCase())) {
          context.addIssue({ code: 'custom', path: [kind, index, 'name'], message: `"${resource.name}" is used twice` });
        }
        seenNames.add(resource.name.toLowerCase());
      });
      return seenNames;
    };
    const groups = unique('clientGroups');
    const spaces = unique('topicSpaces');
    unique('permissionBindings');
    namespace.permissionBindings.forEach((binding, index) => {
      if (binding.clientGroupName !== ALL_CLIENTS_GROUP && !groups.has(binding.clientGroupName.toLowerCase())) {
        context.addIssue({
          code: 'custom',
          path: ['permissionBindings', index, 'clientGroupName'],
          message: `no client group "${binding.clientGroupName}" (declare it in clientGroups, or use ${ALL_CLIENTS_GROUP})`,
        });
      }
      if (!spaces.has(binding.topicSpaceName.toLowerCase())) {
        context.addIssue({ code: 'custom', path: ['permissionBindings', index, 'topicSpaceName'], message: `no topic space "${binding.topicSpaceName}" in topicSpaces` });
      }
    });
  });

export type NamespaceConfig = z.output<typeof namespaceSchema>;
export type NamespaceInput = z.input<typeof namespaceSchema>;
export type ClientResource = NamespaceConfig['clients'][number];
export type ClientGroup = NamespaceConfig['clientGroups'][number];
export type TopicSpace = NamespaceConfig['topicSpaces'][number];
export type PermissionBinding = NamespaceConfig['permissionBindings'][number];

export class NamespaceConfigError extends UserError {
  override name = 'NamespaceConfigError';
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`)
    .join('; ');
}

/** Validates a namespace description; a bad one throws NamespaceConfigError naming each field and why. */
export function parseNamespace(input: unknown, source = 'namespace configuration'): NamespaceConfig {
  const result = namespaceSchema.safeParse(input);
  if (!result.success) throw new NamespaceConfigError(`${source} is invalid: ${describeIssues(result.error)}`);
  return result.data;
}

/** The maximum Session Expiry Interval in force, in seconds (L1). */
export function maximumSessionExpirySeconds(namespace: NamespaceConfig): number {
  return (
    namespace.reference.maximumSessionExpiryInSeconds ?? namespace.topicSpacesConfiguration.maximumSessionExpiryInHours * 3600
  );
}

/** The limits the reference enforces (Event Grid's unless the `reference` section lowers them). */
export type WebhookSettings = z.output<typeof webhookSchema>;
export type EntraSettings = NonNullable<NamespaceConfig['reference']['entraId']>;
export type CustomJwtSettings = z.output<typeof customJwtSchema>;
export type CustomJwtInput = z.input<typeof customJwtSchema>;
export type ReferenceLimits = NamespaceConfig['reference']['limits'];
