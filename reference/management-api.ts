// The reference's management API: what the steps use to change a registered client while it is
// connected (A7), as `az eventgrid namespace client update` changes one on Event Grid. Loopback HTTP,
// JSON both ways:
//   GET   /clients/NAME   the client resource
//   PATCH /clients/NAME   a change (state, authenticationName, clientCertificateAuthentication,
//                         attributes): answers { client, endedConnections } once the change is in
//                         force (with Redis, at every instance of the namespace)
// 404 for a client the namespace does not have, 400 for a change no client may have. No authentication
// of its own: it is for a broker on a developer's machine or in CI, never one on a network.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NamespaceConfigError, type ClientChange } from '../eventgrid/namespace.ts';
import type { ReferenceBroker } from './broker.ts';
import { serveHttp } from './loopback-http.ts';

/** The most a change may weigh: a client resource is a few hundred bytes. */
const MAX_BODY_BYTES = 64 * 1024;

export interface ManagementApi {
  /** http://HOST:PORT/clients/: a client's resource is at this URL and its name. */
  clientsUrl: string;
  stop(): Promise<void>;
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.destroy();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export async function startManagementApi(broker: Pick<ReferenceBroker, 'namespace' | 'updateClient'>, options: { host?: string; port?: number } = {}): Promise<ManagementApi> {
  const service = await serveHttp((request, response) => {
    const match = /^\/clients\/([^/?]+)$/.exec(request.url ?? '');
    if (!match) return reply(response, 404, { error: 'not found: the API has /clients/NAME only' });
    const name = decodeURIComponent(match[1]!);
    if (request.method === 'GET') {
      const client = broker.namespace.clients.find((candidate) => candidate.name === name);
      return client ? reply(response, 200, client) : reply(response, 404, { error: `the namespace has no client "${name}"` });
    }
    if (request.method !== 'PATCH') return reply(response, 405, { error: `${request.method} is not served: GET or PATCH` });
    void readBody(request).then((body) => {
      if (body === undefined) return reply(response, 413, { error: `a change is at most ${MAX_BODY_BYTES} bytes` });
      let change: ClientChange;
      try {
        change = JSON.parse(body) as ClientChange;
      } catch {
        return reply(response, 400, { error: 'the change is no JSON' });
      }
      if (!broker.namespace.clients.some((candidate) => candidate.name === name)) return reply(response, 404, { error: `the namespace has no client "${name}"` });
      return broker.updateClient(name, change).then(
        (answer) => reply(response, 200, answer),
        (error: Error) => reply(response, error instanceof NamespaceConfigError ? 400 : 500, { error: error.message }),
      );
    });
  }, options);
  return { clientsUrl: `http://${service.urlHost}:${service.port}/clients/`, stop: () => service.stop() };
}
