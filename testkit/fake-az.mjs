#!/usr/bin/env node
// A stand-in for the Azure CLI's `az` that keeps one Event Grid namespace in a JSON file
// ($FAKE_AZ_STATE) and records every call ($AZ_RECORD, one JSON line each): the provisioning tests
// run the generated scripts against it. It answers what those scripts and `provision --dry-run` ask:
// `eventgrid namespace show` (with --query PATH and --output tsv|json|none), `resource update` (--set
// PATH=VALUE, --add PATH VALUE, --remove PATH [INDEX]: a read of the namespace written back with that
// change, as az does),
// and create, show, list (whole, or --query '[].name') and delete of the namespace's children. Anything else fails loudly.
// Plain JavaScript, so that each of a script's many calls starts in a few tens of milliseconds.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const statePath = process.env.FAKE_AZ_STATE;
if (process.env.AZ_RECORD) appendFileSync(process.env.AZ_RECORD, `${JSON.stringify(args)}\n`);
const state = JSON.parse(readFileSync(statePath, 'utf8'));

const flag = (name) => {
  const index = args.indexOf(name);
  return index < 0 ? undefined : args[index + 1];
};
/** The values after a flag, up to the next flag. */
const flagValues = (name) => {
  const index = args.indexOf(name);
  if (index < 0) return [];
  const rest = args.slice(index + 1);
  const end = rest.findIndex((arg) => arg.startsWith('--'));
  return end < 0 ? rest : rest.slice(0, end);
};
const fail = (message, code = 1) => {
  process.stderr.write(`ERROR: ${message}\n`);
  process.exit(code);
};
const at = (object, path) => path.split('.').reduce((value, key) => (value && typeof value === 'object' ? value[key] : undefined), object);
/** az reads a --set value as JSON where it is JSON, else as a string. */
const parsed = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};
const save = () => writeFileSync(statePath, `${JSON.stringify(state, null, 2)}\n`);

function print(value) {
  const output = flag('--output') ?? 'json';
  if (output === 'none') return;
  if (output === 'tsv') {
    if (value === undefined || value === null) return;
    const lines = Array.isArray(value) ? value : [value];
    process.stdout.write(lines.map((line) => (typeof line === 'object' ? Object.values(line).join('\t') : String(line))).join('\n') + '\n');
    return;
  }
  process.stdout.write(`${JSON.stringify(value ?? null, null, 2)}\n`);
}

function checkNamespace(name) {
  if (flag('--resource-group') !== state.resourceGroup || name !== state.namespace.name) {
    fail(`(ResourceNotFound) The Resource 'Microsoft.EventGrid/namespaces/${name}' under resource group '${flag('--resource-group')}' was not found.`, 3);
  }
}

const CHILDREN = {
  'ca-certificate': 'caCertificates',
  client: 'clients',
  'client-group': 'clientGroups',
  'topic-space': 'topicSpaces',
  'permission-binding': 'permissionBindings',
};

/** A child's properties from its create flags, as az shows them back. */
function childProperties(group) {
  switch (group) {
    case 'ca-certificate':
      return { encodedCertificate: readFileSync(flag('--certificate'), 'utf8') };
    case 'client':
      return {
        authenticationName: flag('--authentication-name'),
        state: flag('--state') ?? 'Enabled',
        clientCertificateAuthentication: JSON.parse(flag('--client-certificate-authentication') ?? '{}'),
        attributes: JSON.parse(flag('--attributes') ?? '{}'),
        ...(flag('--description') ? { description: flag('--description') } : {}),
      };
    case 'client-group':
      return { query: flag('--group-query'), ...(flag('--description') ? { description: flag('--description') } : {}) };
    case 'topic-space':
      return { topicTemplates: flagValues('--topic-templates'), ...(flag('--description') ? { description: flag('--description') } : {}) };
    case 'permission-binding': {
      const permission = flag('--permission');
      return { clientGroupName: flag('--client-group-name'), topicSpaceName: flag('--topic-space-name'), permission: permission[0].toUpperCase() + permission.slice(1) };
    }
  }
}

const [first, second, third, fourth] = args;
if (first === 'eventgrid' && second === 'namespace' && third === 'show') {
  checkNamespace(flag('--name'));
  const shown = { name: state.namespace.name, location: state.namespace.location, sku: state.namespace.sku, ...state.namespace.properties };
  const query = flag('--query');
  print(query ? at(shown, query) : shown);
} else if (first === 'resource' && second === 'update') {
  if (flag('--resource-type') !== 'Microsoft.EventGrid/namespaces' || !flag('--api-version')) fail('resource update: only Microsoft.EventGrid/namespaces, with --api-version');
  checkNamespace(flag('--name'));
  const resource = { properties: state.namespace.properties };
  const parentOf = (path) => {
    const keys = path.split('.');
    const parent = keys.slice(0, -1).reduce((value, key) => {
      if (!value || typeof value !== 'object' || !(key in value)) fail(`Couldn't find '${key}' in '${path}'`);
      return value[key];
    }, resource);
    return { parent, key: keys.at(-1) };
  };
  for (const assignment of flagValues('--set')) {
    const equals = assignment.indexOf('=');
    const { parent, key } = parentOf(assignment.slice(0, equals));
    parent[key] = parsed(assignment.slice(equals + 1));
  }
  const added = flagValues('--add');
  if (added.length) {
    const { parent, key } = parentOf(added[0]);
    if (!Array.isArray(parent[key])) fail(`${added[0]} is not a list`);
    parent[key].push(...added.slice(1).map(parsed));
  }
  const removed = flagValues('--remove');
  if (removed.length) {
    const { parent, key } = parentOf(removed[0]);
    if (removed.length > 1) {
      if (!Array.isArray(parent[key]) || !(Number(removed[1]) in parent[key])) fail(`${removed[0]} has no index ${removed[1]}`);
      parent[key].splice(Number(removed[1]), 1);
    } else {
      delete parent[key];
    }
  }
  save();
  print({ name: state.namespace.name, properties: state.namespace.properties });
} else if (first === 'eventgrid' && second === 'namespace' && third in CHILDREN) {
  checkNamespace(flag('--namespace-name'));
  const kind = CHILDREN[third];
  const children = (state.children[kind] ??= {});
  const name = flag('--name');
  const shown = (childName) => ({ name: childName, ...children[childName] });
  const notFound = () => fail(`(ResourceNotFound) The Resource 'Microsoft.EventGrid/namespaces/${state.namespace.name}/${kind}/${name}' under resource group '${state.resourceGroup}' was not found.`, 3);
  if (fourth === 'create') {
    children[name] = childProperties(third);
    save();
    print(shown(name));
  } else if (fourth === 'show') {
    if (!(name in children)) notFound();
    print(shown(name));
  } else if (fourth === 'delete') {
    if (!args.includes('--yes')) fail('delete without --yes would ask');
    if (!(name in children)) notFound();
    delete children[name];
    // A kind with nothing left is as absent as one that never had anything.
    if (Object.keys(children).length === 0) delete state.children[kind];
    save();
  } else if (fourth === 'list') {
    const query = flag('--query');
    if (query !== undefined && query !== '[].name') fail(`fake az: list answers no --query but [].name, not ${query}`, 2);
    print(query ? Object.keys(children) : Object.keys(children).map(shown));
  } else {
    fail(`fake az: no ${args.slice(0, 4).join(' ')}`, 2);
  }
} else {
  fail(`fake az: no ${args.slice(0, 4).join(' ')}`, 2);
}
