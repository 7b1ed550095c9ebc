// The changes provisioning (or unregistering) would make to a namespace as it is now: what it adds,
// what it changes and what it removes, and nothing it leaves alone. `provision --dry-run` prints them.
import type { NamespaceConfig } from '../eventgrid/namespace.ts';
import { childResources, oneLinePem } from '../eventgrid/arm-template.ts';
import { askedNameSources, NAME_SOURCES_PATH, namespaceSettings } from './namespace-settings.ts';
import { CHILD_KINDS, childKind, type NamespaceState } from './namespace-state.ts';

export interface Change {
  action: 'add' | 'change' | 'remove';
  /** What it touches: "client alpha", "setting maximumClientSessionsPerAuthenticationName". */
  what: string;
  /** For a change: which properties, and from what to what where that is short. */
  detail?: string;
}

/** The value at a dotted path, or undefined. */
function at(object: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), object);
}

/** Properties whose values az shows in another letter case than the API takes them (`--permission publisher`). */
const ENUM_KEYS = new Set(['permission', 'state', 'validationScheme']);

/** Values as Event Grid compares them: certificates on one line, enums in any case, empty as absent. */
function normal(value: unknown, key = ''): unknown {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value.includes('-----BEGIN') ? oneLinePem(value) : ENUM_KEYS.has(key) ? value.toLowerCase() : value;
  if (Array.isArray(value)) return value.length ? value.map((inner) => normal(inner)) : undefined;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .map(([inner, innerValue]) => [inner, normal(innerValue, inner)] as const)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  return value;
}

const same = (a: unknown, b: unknown, key = '') => JSON.stringify(normal(a, key)) === JSON.stringify(normal(b, key));
const short = (value: unknown) => (value === undefined ? '(unset)' : typeof value === 'object' ? '{…}' : String(value));

/** What provisioning would change: settings where they differ, name sources not there yet, children absent or different. */
export function provisioningChanges(namespace: NamespaceConfig, state: NamespaceState): Change[] {
  const changes: Change[] = [];
  for (const setting of namespaceSettings(namespace)) {
    const current = at(state.topicSpacesConfiguration, setting.path);
    if (!same(current, setting.value, setting.path)) changes.push({ action: 'change', what: `setting ${setting.path}`, detail: `${short(current)} -> ${short(setting.value)}` });
  }
  const sources = (at(state.topicSpacesConfiguration, NAME_SOURCES_PATH) as string[] | undefined) ?? [];
  for (const source of askedNameSources(namespace)) {
    if (!sources.includes(source)) changes.push({ action: 'add', what: `name source ${source}` });
  }
  for (const child of childResources(namespace)) {
    const kind = childKind(child.type);
    const shown = state.children[child.type]?.find((resource) => resource.name === child.name);
    if (!shown) {
      changes.push({ action: 'add', what: `${kind.label} ${child.name}` });
      continue;
    }
    const differing = Object.keys(child.properties).filter((key) => !same(shown[key], child.properties[key], key));
    if (differing.length) changes.push({ action: 'change', what: `${kind.label} ${child.name}`, detail: differing.join(', ') });
  }
  return changes;
}

/** The children provisioning adds, in the order they can be removed: dependants (bindings) first, the CA last. */
export function removalOrder(namespace: NamespaceConfig): ReturnType<typeof childResources> {
  const order = (type: string) => CHILD_KINDS.findIndex((kind) => kind.type === type);
  return childResources(namespace).sort((a, b) => order(b.type) - order(a.type));
}

/** What the settings step changed, as it kept it (KEY, API version, value before; tab-separated lines). */
export interface BeforeEntry {
  /** "setting:PATH" or "name-source:SOURCE". */
  key: string;
  value: string;
}

export function parseBeforeRecord(text: string): BeforeEntry[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [key = '', , value = ''] = line.split('\t');
      return { key, value };
    });
}

/**
 * What unregistering would do: remove the children provisioning adds that the namespace has, then put
 * back the settings the record says provisioning changed and take out the name sources it added.
 */
export function unregisterChanges(namespace: NamespaceConfig, state: NamespaceState, before: BeforeEntry[] = []): Change[] {
  const children = removalOrder(namespace)
    .filter((child) => state.children[child.type]?.some((resource) => resource.name === child.name))
    .map((child) => ({ action: 'remove' as const, what: `${childKind(child.type).label} ${child.name}` }));
  const sources = (at(state.topicSpacesConfiguration, NAME_SOURCES_PATH) as string[] | undefined) ?? [];
  const settings = before.flatMap(({ key, value }): Change[] => {
    if (key.startsWith('name-source:')) {
      const source = key.slice('name-source:'.length);
      return sources.includes(source) ? [{ action: 'remove', what: `name source ${source}` }] : [];
    }
    const path = key.slice('setting:'.length);
    const current = at(state.topicSpacesConfiguration, path);
    const was = value === '' || value === 'null' ? undefined : value.startsWith('{') ? JSON.parse(value) : Number.isNaN(Number(value)) ? value : Number(value);
    return same(current, was, path) ? [] : [{ action: 'change', what: `setting ${path}`, detail: `${short(current)} -> ${short(was)}` }];
  });
  return [...children, ...settings];
}

const MARK = { add: '+', change: '~', remove: '-' } as const;

/** The changes as lines a person reads, with a count per action; "no changes" when there are none. */
export function describeChanges(changes: Change[]): string[] {
  if (changes.length === 0) return ['no changes: the namespace already has all of it'];
  const count = (action: Change['action']) => changes.filter((change) => change.action === action).length;
  return [
    ...changes.map((change) => `${MARK[change.action]} ${change.what}${change.detail ? ` (${change.detail})` : ''}`),
    `${count('add')} to add, ${count('change')} to change, ${count('remove')} to remove`,
  ];
}
