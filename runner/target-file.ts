// A target file: everything a run needs to know about a remote endpoint, as an alternative to flags.
// Paths in it are relative to the file.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../common/errors.ts';
import { SESSION_EXPIRY_HOURS_RANGE, SESSIONS_PER_NAME_RANGE } from '../eventgrid/namespace.ts';
import { findRule } from '../rules/catalogue.ts';
import type { RemoteTargetOptions } from './target.ts';

const endpoint = z.string().regex(/^(mqtts|wss):\/\//, 'must be an mqtts:// or wss:// URL');

const targetFileSchema = z
  .object({
    // Several: the endpoints (instances, front ends) of one namespace; a scenario's connections take them in turn.
    url: z.union([endpoint, z.array(endpoint).min(1)]),
    ca: z.string().min(1),
    identities: z.string().min(1),
    namespace: z
      .object({
        maximumClientSessionsPerAuthenticationName: z.number().int().min(SESSIONS_PER_NAME_RANGE.min).max(SESSIONS_PER_NAME_RANGE.max).optional(),
        maximumSessionExpiryInHours: z.number().int().min(SESSION_EXPIRY_HOURS_RANGE.min).max(SESSION_EXPIRY_HOURS_RANGE.max).optional(),
        alternativeAuthenticationNameSources: z.array(z.string()).optional(),
        // The namespace trusts the set's local token issuer (npm run provision -- --custom-jwt registers it).
        customJwt: z.boolean().optional(),
      })
      .strict()
      .default({}),
    alternativeNamesUrl: z.string().regex(/^(mqtts|wss):\/\//, 'must be an mqtts:// or wss:// URL').optional(),
    pace: z.boolean().default(true),
    includeSlow: z.boolean().default(false),
    topicRoot: z.string().min(1).optional(),
    skip: z
      .array(
        z.object({ rule: z.string().refine((id) => findRule(id) !== undefined, 'is not a rule of the catalogue'), reason: z.string().min(1) }).strict(),
      )
      .default([]),
  })
  .strict();

export function readTargetFile(path: string): RemoteTargetOptions {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UserError(`cannot read target file ${path}: ${reason}`);
  }
  const parsed = targetFileSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new UserError(`target file ${path} is invalid: ${issues.join('; ')}`);
  }
  const file = parsed.data;
  const here = dirname(resolve(path));
  const expiryHours = file.namespace.maximumSessionExpiryInHours;
  const [url, ...others] = typeof file.url === 'string' ? [file.url] : file.url;
  return {
    url: url!,
    ...(others.length ? { instanceUrls: [url!, ...others] } : {}),
    caFile: resolve(here, file.ca),
    identitiesDir: resolve(here, file.identities),
    sessionLimit: file.namespace.maximumClientSessionsPerAuthenticationName,
    maxSessionExpirySeconds: expiryHours === undefined ? undefined : expiryHours * 3600,
    alternativeNameSources: (file.namespace.alternativeAuthenticationNameSources?.length ?? 0) > 0,
    alternativeNamesUrl: file.alternativeNamesUrl,
    pace: file.pace,
    includeSlow: file.includeSlow,
    tokenIssuerTrusted: file.namespace.customJwt,
    topicRoot: file.topicRoot,
    skipRules: Object.fromEntries(file.skip.map((entry) => [entry.rule, entry.reason])),
  };
}
