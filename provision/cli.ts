// npm run provision -- --namespace NAME --resource-group RG [--format az|arm|both]: what to run on
// Azure so that a namespace knows the suite's CA and identities, as an az script and an ARM template.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isEntryPoint, runCommand, wholeNumberFlag, type Command } from '../common/cli.ts';
import { UserError } from '../common/errors.ts';
import { loadPki } from '../certs/manifest.ts';
import { DEFAULT_PKI_DIR, markRegistered } from '../certs/pki.ts';
import { namespaceFromPki, SUITE_SESSION_LIMIT } from '../certs/namespace.ts';
import { checkTopicRoot, DEFAULT_TOPIC_ROOT } from '../eventgrid/suite-contract.ts';
import { namespaceToArm } from '../eventgrid/arm-template.ts';
import { namespaceToAzScript } from './az-script.ts';
import { toolCommand } from '../common/package.ts';

const USAGE = `usage: mqtt-multisession-conformance provision --namespace NAME --resource-group RG [options]
  --namespace NAME         the Event Grid namespace (it must exist for the az script)
  --resource-group RG      its resource group
  --format az|arm|both     what to write (default both)
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
    ...(values.webhook === undefined ? {} : { webhookAuthentication: { endpointUrl: webhookUrl(values.webhook) } }),
  });
  if (values['custom-jwt'] && !pki.manifest.ca.tokenIssuer) throw new UserError(`--custom-jwt: the PKI set in ${pki.dir} has no token issuer (made before tokens): make it anew with \`npm run certs -- --renew\``);
  mkdirSync(values.out, { recursive: true });
  const written: string[] = [];
  if (values.format !== 'arm') {
    const script = join(values.out, `${name}.az.sh`);
    writeFileSync(script, namespaceToAzScript(namespace, { resourceGroup, source: `${resolve(pki.dir)}/identities.json` }));
    chmodSync(script, 0o755);
    written.push(`${script}   (bash ${script})`);
  }
  if (values.format !== 'az') {
    const template = join(values.out, `${name}.template.json`);
    writeFileSync(template, `${JSON.stringify(namespaceToArm(namespace), null, 2)}\n`);
    written.push(`${template}   (az deployment group create -g ${resourceGroup} --template-file ${template})`);
  }
  const { customJwtAuthentication, webhookAuthentication } = namespace.topicSpacesConfiguration.clientAuthentication;
  if (customJwtAuthentication) console.log(`custom JWT: issuer ${customJwtAuthentication.tokenIssuer}, its certificate ${pki.manifest.ca.tokenIssuer!.certificate}`);
  if (webhookAuthentication) console.log(`webhook authentication: ${webhookAuthentication.endpointUrl} (give the namespace's managed identity access to it)`);
  console.log(`namespace ${name}: 1 CA certificate and ${namespace.clients.length} clients, ${namespace.permissionBindings.length} permission bindings under ${values['topic-root']}/, ${namespace.topicSpacesConfiguration.maximumClientSessionsPerAuthenticationName} sessions per authentication name, ${namespace.topicSpacesConfiguration.maximumSessionExpiryInHours} h maximum session expiry`);
  for (const line of written) console.log(`wrote ${line}`);
  // From now on the set's CA and thumbprints are (about to be) on a namespace: no run may replace it unasked.
  markRegistered(pki.dir, name);
  console.log(`marked ${pki.dir} as registered on namespace ${name}: runs keep it and warn before it expires (${toolCommand('certs', '--renew')} makes a new one)`);
}

export const command: Command = { usage: USAGE, main };

// `npm run provision` and the tests start this module directly; the tool reaches it through runner/main.ts.
if (isEntryPoint(import.meta.url)) await runCommand(command, process.argv.slice(2));
