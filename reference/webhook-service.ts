// A webhook for authentication tests (W1-W3), on loopback: what it answers is chosen by the CONNECT's
// password, so that one client can ask for each outcome Event Grid documents: allowed (named by its
// Username, or by the name the password gives, with the attributes the namespace registers for that
// name), denied, no answer in time, an answer that is no decision, and a failure. `npm run broker -- --webhook` and the suite's webhook
// namespace use it; it stands in for a device registry, it is not one.
import type { ServerResponse } from 'node:http';
import type { NamespaceConfig } from '../eventgrid/namespace.ts';
import { serveHttp } from './loopback-http.ts';

/**
 * The password that asks for each answer; any other password is denied. `webhook-allow` names the client
 * by its Username, `webhook-allow:NAME` (allowedAs) by NAME.
 */
export const WEBHOOK_PASSWORDS = {
  allow: 'webhook-allow',
  deny: 'webhook-deny',
  slow: 'webhook-slow',
  nonsense: 'webhook-nonsense',
  fail: 'webhook-fail',
} as const;

export interface WebhookServiceOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** The attributes of an allowed client, by its authentication name (the namespace's registered clients'). */
  attributesOf?: (authenticationName: string) => Record<string, unknown> | undefined;
  /** Seconds an allowed decision lasts (its expiration); absent: none given. */
  decisionSeconds?: number;
}

export interface WebhookService {
  /** The endpoint a namespace's webhookAuthentication names. */
  url: string;
  /** Requests received so far. */
  readonly calls: number;
  stop(): Promise<void>;
}

/** The password that asks the test webhook to allow the client as `name`, whatever its Username. */
export const allowedAs = (name: string) => `${WEBHOOK_PASSWORDS.allow}:${name}`;

interface RequestBody {
  clientId?: string;
  userName?: string;
  password?: string;
}

export async function startWebhookService(options: WebhookServiceOptions = {}): Promise<WebhookService> {
  let calls = 0;
  const answer = (response: ServerResponse, status: number, body: string, type = 'application/json') => {
    response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };
  const service = await serveHttp((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      calls += 1;
      let body: RequestBody = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RequestBody;
      } catch {
        return answer(response, 400, JSON.stringify({ decision: 'deny', errorReason: 'the request is no JSON' }));
      }
      const password = body.password === undefined ? undefined : Buffer.from(body.password, 'base64').toString('utf8');
      const [asked, named] = password?.startsWith(`${WEBHOOK_PASSWORDS.allow}:`) ? [WEBHOOK_PASSWORDS.allow, password.slice(WEBHOOK_PASSWORDS.allow.length + 1)] : [password, body.userName];
      switch (asked) {
        case WEBHOOK_PASSWORDS.allow: {
          if (!named) return answer(response, 200, JSON.stringify({ decision: 'deny', errorReason: 'no Username to name the client' }));
          const expiration = options.decisionSeconds === undefined ? {} : { expiration: Math.floor(Date.now() / 1000) + options.decisionSeconds };
          return answer(response, 200, JSON.stringify({ decision: 'allow', clientAuthenticationName: named, attributes: options.attributesOf?.(named) ?? {}, ...expiration }));
        }
        case WEBHOOK_PASSWORDS.slow:
          return; // never answers: the broker's timeout must end the wait
        case WEBHOOK_PASSWORDS.nonsense:
          return answer(response, 200, 'hello, world', 'text/plain');
        case WEBHOOK_PASSWORDS.fail:
          return answer(response, 500, JSON.stringify({ error: 'the test webhook failed on purpose' }));
        default:
          return answer(response, 200, JSON.stringify({ decision: 'deny', errorReason: 'the test webhook denies this password' }));
      }
    });
  }, options);
  return {
    url: `http://${service.urlHost}:${service.port}/authenticate`,
    get calls() {
      return calls;
    },
    stop: () => service.stop(),
  };
}

/** The namespace, authenticating by the webhook at `endpointUrl` (W1-W3). */
export function withWebhook(namespace: NamespaceConfig, endpointUrl: string): NamespaceConfig {
  const { topicSpacesConfiguration: spaces } = namespace;
  return { ...namespace, topicSpacesConfiguration: { ...spaces, clientAuthentication: { ...spaces.clientAuthentication, webhookAuthentication: { endpointUrl } } } };
}
