// npm run provision -- --namespace NAME --resource-group RG [--format az|arm|both]: what to run on
// Azure so that a namespace knows the suite's CA and identities, as an az script and an ARM template
// that change only what they add; --unregister writes the script that removes it again, --dry-run
// reads the namespace (az) and prints the changes instead.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isEntryPoint, runCommand, wholeNumberFlag, type Command } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki } from '../certs/manifest.ts';
import { DEFAULT_PKI_DIR, markRegistered, unmarkRegistered } from '../certs/pki.ts';
import { namespaceFromPki, SUITE_SESSION_LIMIT } from '../certs/namespace.ts';
import { checkTopicRoot, DEFAULT_TOPIC_ROOT } from '../eventgrid/suite-contract.ts';
import { namespaceToArm } from '../eventgrid/arm-template.ts';
import { BEFORE_SUFFIX, namespaceSettingsScript, namespaceToAzScript, unregisterAzScript } from './az-script.ts';
import { describeChanges, parseBeforeRecord, provisioningChanges, unregisterChanges } from './namespace-diff.ts';
import { readNamespaceState } from './namespace-state.ts';
import { NAME_SOURCES, type AuthenticationNameSource } from '../eventgrid/authentication.ts';
import { toolCommand } from '../common/package.ts';

const USAGE = `usage: mqtt-multisession-conformance provision --namespace NAME --resource-group RG [options]
  --namespace NAME         the Event Grid namespace (it must exist for the az script)
  --resource-group RG      its resource group
  --format az|arm|both     what to write (default both): the az script sets the namespace's settings where
                           they differ and adds its child resources; the ARM template adds only the child
                           resources of the existing namespace, with its settings as a separate script
                           (NAME.settings.az.sh) to run knowingly
  --name-source SOURCE     add SOURCE to the namespace's alternativeAuthenticationNameSources (repeatable;
                           ${NAME_SOURCES.join(', ')}); the sources it has stay, and none is added unasked
  --unregister             write NAME.unregister.az.sh, which removes what provisioning added (this set's
                           CA certificate, clients, client groups, topic spaces, permission bindings, name
                           sources) and puts back the settings it changed (as NAME.before.tsv in --out
                           recorded them), and unmark the set as registered on NAME
  --dry-run                read the namespace with az and print what provisioning (or --unregister) would
                           add, change and remove; writes and marks nothing
  --identities DIR         the PKI whose identities to register (default ${DEFAULT_PKI_DIR}/)
  --session-limit N        maximumClientSessionsPerAuthenticationName to set (default ${SUITE_SESSION_LIMIT}: the suite needs ${SUITE_SESSION_LIMIT})
  --max-expiry-hours H     maximumSessionExpiryInHours to set (default 1)
  --topic-root ROOT        first topic level(s) the permission bindings grant (default ${DEFAULT_TOPIC_ROOT});
                           pass the same --topic-root to conformance and probe
  --custom-jwt             also register the PKI's local token issuer (its certificate, ca/token-issuer.pem,
                           and issuer) as the namespace's custom JWT settings: npm run token's tokens then
                           authenticate (say namespace.customJwt: true in the target file)
  --webhook URL            authenticate by the webhook at URL (https; the namespace's managed identity must
                           be given access to it: docs/your-namespace.md)
  --out DIR                where to write (default provisioning/)`;

/** Event Grid calls a webhook over HTTPS only. */
function webhookUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UserError(`--webhook must be a URL such as https://my-function.azurewebsites.net/api/authenticate, not "${text}"`);
  }
  if (url.protocol !== 'https:') throw new UserError(`--webhook must use https:// (Event Grid calls webhooks over HTTPS only), not ${url.protocol}//`);
  return url.href;
}

function nameSources(given: string[]): AuthenticationNameSource[] {
  for (const source of given) {
    if (!(NAME_SOURCES as readonly string[]).includes(source)) throw new UserError(`--name-source takes one of ${NAME_SOURCES.join(', ')}, not "${source}"`);
  }
  return [...new Set(given)] as AuthenticationNameSource[];
}

// Event Grid's own constraints on these names.
const NAMESPACE_NAME = /^[a-zA-Z0-9-]{3,50}$/;
const RESOURCE_GROUP = /^[-\w.()]{1,90}$/;

async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      namespace: { type: 'string' },
      'resource-group': { type: 'string' },
      format: { type: 'string', default: 'both' },
      identities: { type: 'string', default: DEFAULT_PKI_DIR },
      'session-limit': { type: 'string', default: String(SUITE_SESSION_LIMIT) },
      'max-expiry-hours': { type: 'string', default: '1' },
      out: { type: 'string', default: 'provisioning' },
      'topic-root': { type: 'string', default: DEFAULT_TOPIC_ROOT },
      'custom-jwt': { type: 'boolean' },
      webhook: { type: 'string' },
      'name-source': { type: 'string', multiple: true },
      unregister: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  const name = values.namespace;
  const resourceGroup = values['resource-group'];
  if (!name || !resourceGroup) throw new UserError('--namespace NAME and --resource-group RG are both needed');
  if (!NAMESPACE_NAME.test(name)) throw new UserError(`--namespace "${name}" is not a namespace name: 3 to 50 letters, digits and hyphens`);
  if (!RESOURCE_GROUP.test(resourceGroup)) throw new UserError(`--resource-group "${resourceGroup}" is not a resource group name`);
  if (!['az', 'arm', 'both'].includes(values.format)) throw new UserError(`--format takes az, arm or both, not "${values.format}"`);

  const pki = loadPki(values.identities);
  const namespace = namespaceFromPki(pki, {
    name,
    maximumClientSessionsPerAuthenticationName: wholeNumberFlag(values['session-limit'], '--session-limit', 1, 100),
    maximumSessionExpiryInHours: wholeNumberFlag(values['max-expiry-hours'], '--max-expiry-hours', 1, 8),
    topicRoot: checkTopicRoot(values['topic-root']),
    customJwt: values['custom-jwt'] === true,
    alternativeAuthenticationNameSources: nameSources(values['name-source'] ?? []),
    ...(values.webhook === undefined ? {} : { webhookAuthentication: { endpointUrl: webhookUrl(values.webhook) } }),
  });
  if (values['custom-jwt'] && !pki.manifest.ca.tokenIssuer) throw new UserError(`--custom-jwt: the PKI set in ${pki.dir} has no token issuer (made before tokens): make it anew with \`npm run certs -- --renew\``);
  if (values['dry-run']) {
    const state = readNamespaceState(resourceGroup, name);
    const record = join(values.out, `${name}${BEFORE_SUFFIX}`);
    const before = existsSync(record) ? parseBeforeRecord(readFileSync(record, 'utf8')) : [];
    const changes = values.unregister ? unregisterChanges(namespace, state, before) : provisioningChanges(namespace, state);
    console.log(`namespace ${name} (dry run: nothing written, nothing marked, nothing changed):`);
    for (const line of describeChanges(changes)) console.log(line);
    return;
  }
  mkdirSync(values.out, { recursive: true });
  const scriptOptions = { resourceGroup, source: `${resolve(pki.dir)}/identities.json` };
  const writeScript = (file: string, text: string) => {
    const path = join(values.out, file);
    writeFileSync(path, text);
    chmodSync(path, 0o755);
    return path;
  };
  if (values.unregister) {
    const script = writeScript(`${name}.unregister.az.sh`, unregisterAzScript(namespace, scriptOptions));
    console.log(`wrote ${script}   (bash ${script}: removes ${namespace.clients.length} clients, ${namespace.permissionBindings.length} permission bindings, the topic spaces, client groups and CA certificate provisioning added, and puts back the settings it changed, as ${name}${BEFORE_SUFFIX} beside it recorded)`);
    const unmarked = unmarkRegistered(pki.dir, name);
    console.log(unmarked ? `unmarked ${pki.dir} as registered on namespace ${name}: runs may replace it again once it expires` : `${pki.dir} was not marked as registered on namespace ${name}`);
    return;
  }
  const written: string[] = [];
  if (values.format !== 'arm') {
    const script = writeScript(`${name}.az.sh`, namespaceToAzScript(namespace, scriptOptions));
    written.push(`${script}   (bash ${script})`);
  }
  if (values.format !== 'az') {
    const template = join(values.out, `${name}.template.json`);
    writeFileSync(template, `${JSON.stringify(namespaceToArm(namespace), null, 2)}\n`);
    written.push(`${template}   (az deployment group create -g ${resourceGroup} --template-file ${template}: the child resources only)`);
    const settings = writeScript(`${name}.settings.az.sh`, namespaceSettingsScript(namespace, scriptOptions));
    written.push(`${settings}   (bash ${settings}: the namespace's own settings, which the template leaves alone; each is set only where it differs)`);
  }
  const { customJwtAuthentication, webhookAuthentication } = namespace.topicSpacesConfiguration.clientAuthentication;
  if (customJwtAuthentication) console.log(`custom JWT: issuer ${customJwtAuthentication.tokenIssuer}, its certificate ${pki.manifest.ca.tokenIssuer!.certificate}`);
  if (webhookAuthentication) console.log(`webhook authentication: ${webhookAuthentication.endpointUrl} (give the namespace's managed identity access to it)`);
  console.log(`namespace ${name}: 1 CA certificate and ${namespace.clients.length} clients, ${namespace.permissionBindings.length} permission bindings under ${values['topic-root']}/, ${namespace.topicSpacesConfiguration.maximumClientSessionsPerAuthenticationName} sessions per authentication name, ${namespace.topicSpacesConfiguration.maximumSessionExpiryInHours} h maximum session expiry`);
  for (const line of written) console.log(`wrote ${line}`);
  // From now on the set's CA and thumbprints are (about to be) on a namespace: no run may replace it unasked.
  markRegistered(pki.dir, name);
  console.log(`marked ${pki.dir} as registered on namespace ${name}: runs keep it and warn before it expires (${toolCommand('certs', '--renew')} makes a new one; ${toolCommand('provision', `--namespace ${name} --resource-group ${resourceGroup} --unregister`)} takes it back)`);
}

export const command: Command = { usage: USAGE, main };

// `npm run provision` and the tests start this module directly; the tool reaches it through runner/main.ts.
if (isEntryPoint(import.meta.url)) await runCommand(command, process.argv.slice(2));
