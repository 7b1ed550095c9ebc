// The webhook authenticator (reference/ports/authenticator.ts, W1-W3): POSTs what a CONNECT presented to
// the namespace's webhook, as Event Grid documents the request, and hands its answer, or why there was
// none, to the policy's webhook checks (policy/webhook.ts). Every call ends within the timeout, the
// answer's body included: a webhook that is slow, down or endless is a refusal, never a hang.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { WebhookSettings } from '../../../eventgrid/namespace.ts';
import type { Authentication, Behaviour } from '../../policy/behaviour.ts';
import type { WebhookAnswer } from '../../policy/presented.ts';
import { authenticateByWebhook } from '../../policy/webhook.ts';
import type { Authenticator, ConnectAttempt } from '../../ports/authenticator.ts';

/** The most of an answer's body read: a decision is a few hundred bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** The request body Event Grid sends: the CONNECT's fields, binary ones in base64, the certificate as PEM. */
function requestBody({ clientId, username, password, authenticationMethod, authenticationData, connection }: ConnectAttempt): string {
  const certificate = connection.tls.getPeerX509Certificate();
  const chain: string[] = [];
  for (let issuer = certificate?.issuerCertificate; issuer && chain.length < 5 && issuer.fingerprint256 !== certificate?.fingerprint256; issuer = issuer.issuerCertificate) {
    chain.push(issuer.toString());
    if (issuer.issuerCertificate?.fingerprint256 === issuer.fingerprint256) break;
  }
  return JSON.stringify({
    clientId,
    ...(username === undefined ? {} : { userName: username }),
    ...(password === undefined ? {} : { password: password.toString('base64') }),
    ...(authenticationMethod === undefined ? {} : { authenticationMethod }),
    ...(authenticationData === undefined ? {} : { authenticationData: authenticationData.toString('base64') }),
    ...(certificate ? { clientCertificate: certificate.toString() } : {}),
    ...(chain.length ? { clientCertificateChain: chain.join('') } : {}),
  });
}

/** POSTs the body and reads the answer, all within `timeoutMs`. */
export function callWebhook(url: string, body: string, timeoutMs: number): Promise<WebhookAnswer> {
  return new Promise((resolve) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    let settled = false;
    const settle = (answer: WebhookAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(answer);
    };
    // agent: false: a connection per call, closed with it, so that nothing outlives the broker.
    const request = send(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) settle({ answered: true, status: response.statusCode ?? 0, body: undefined });
        else chunks.push(chunk);
      });
      response.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          parsed = undefined;
        }
        settle({ answered: true, status: response.statusCode ?? 0, body: parsed });
      });
      response.on('error', (error) => settle({ answered: false, problem: `broke off its answer (${error.message})` }));
    });
    const timer = setTimeout(() => settle({ answered: false, problem: `did not answer within ${timeoutMs} ms` }), timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => settle({ answered: false, problem: `could not be reached (${error.code ?? error.message})` }));
    request.end(body);
  });
}

export class WebhookAuthenticator implements Authenticator {
  constructor(
    private readonly settings: WebhookSettings,
    private readonly timeoutMs: number,
    private readonly behaviour: Behaviour,
  ) {}

  async authenticate(attempt: ConnectAttempt): Promise<Authentication> {
    const answer = await callWebhook(this.settings.endpointUrl, requestBody(attempt), this.timeoutMs);
    return authenticateByWebhook(answer, attempt.username, this.behaviour);
  }
}
