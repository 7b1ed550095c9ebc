// What a namespace has now, as the Azure CLI shows it: its topicSpacesConfiguration and its child
// resources by kind. `provision --dry-run` reads it to print the changes it would make.
import { spawnSync } from 'node:child_process';
import { UserError } from '../common/errors.ts';

/** The kinds of child resource provisioning adds, in the order it adds them, with their az command group. */
export const CHILD_KINDS = [
  { type: 'Microsoft.EventGrid/namespaces/caCertificates', label: 'CA certificate', az: 'ca-certificate' },
  { type: 'Microsoft.EventGrid/namespaces/clients', label: 'client', az: 'client' },
  { type: 'Microsoft.EventGrid/namespaces/clientGroups', label: 'client group', az: 'client-group' },
  { type: 'Microsoft.EventGrid/namespaces/topicSpaces', label: 'topic space', az: 'topic-space' },
  { type: 'Microsoft.EventGrid/namespaces/permissionBindings', label: 'permission binding', az: 'permission-binding' },
] as const;

export type ChildKind = (typeof CHILD_KINDS)[number];

export function childKind(type: string): ChildKind {
  const kind = CHILD_KINDS.find((candidate) => candidate.type === type);
  if (!kind) throw new Error(`no child kind ${type}`);
  return kind;
}

/** A child resource as az shows it: its name and its properties (flattened beside it). */
export type ShownResource = { name: string } & Record<string, unknown>;

export interface NamespaceState {
  topicSpacesConfiguration: Record<string, unknown>;
  /** By resource type. */
  children: Record<string, ShownResource[]>;
}

function az(args: string[]): unknown {
  const result = spawnSync('az', [...args, '--output', 'json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new UserError('--dry-run reads the namespace with the Azure CLI, and az is not on PATH: install it and run az login');
  }
  if (result.status !== 0) {
    throw new UserError(`az ${args.slice(0, 4).join(' ')} failed: ${(result.stderr || result.stdout).trim().split('\n')[0] ?? `exit ${result.status}`}`);
  }
  return JSON.parse(result.stdout || 'null');
}

/** Reads the namespace's settings and every child resource of the kinds provisioning adds. */
export function readNamespaceState(resourceGroup: string, namespace: string): NamespaceState {
  const shown = az(['eventgrid', 'namespace', 'show', '--resource-group', resourceGroup, '--name', namespace]) as { topicSpacesConfiguration?: Record<string, unknown> } | null;
  const children = Object.fromEntries(
    CHILD_KINDS.map((kind) => [kind.type, (az(['eventgrid', 'namespace', kind.az, 'list', '--resource-group', resourceGroup, '--namespace-name', namespace]) as ShownResource[] | null) ?? []]),
  );
  return { topicSpacesConfiguration: shown?.topicSpacesConfiguration ?? {}, children };
}
