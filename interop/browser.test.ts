// A web page in headless Chromium (Debian's chromium, driven by playwright-core) that loads mqtt.js's
// browser build and talks to the reference broker over wss with CUSTOM-JWT, as the custom-JWT page's
// readers try to: two sessions of one identity at once, another identity refused one of its session
// names (S6, 0x87), and a message from one session to the other. The page has no client certificate:
// the token is its only credential, and the wss listener asks for none (headless Chromium cancels a TLS
// handshake that asks for one).
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { issueToken } from '../certs/tokens.ts';
import { sessionTopic } from '../eventgrid/suite-contract.ts';
import { startReferenceBroker, type ReferenceBroker } from '../reference/broker.ts';
import { startTestBroker, type TestBroker } from '../testkit/test-broker.ts';

const CHROMIUM = '/usr/bin/chromium';
const AVAILABLE = existsSync(CHROMIUM);
if (!AVAILABLE) console.log('interop/browser.test.ts: skipped: no /usr/bin/chromium (Debian: apt-get install chromium)');

const MQTT_BROWSER_BUILD = join('node_modules', 'mqtt', 'dist', 'mqtt.min.js');

/** A page on loopback over plain http that loads mqtt.js's browser build, as a web app would. */
async function servePage(): Promise<{ url: string; server: Server }> {
  const script = readFileSync(MQTT_BROWSER_BUILD);
  const server = createServer((request, response) => {
    if (request.url === '/mqtt.min.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' });
      return response.end(script);
    }
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>mqtt over wss</title><script src="/mqtt.min.js"></script>');
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

/** The base64 SHA-256 of a certificate's public key: Chromium trusts the server certificate by it, and nothing else. */
function spkiHash(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

let t: TestBroker<ReferenceBroker> | undefined;
let page: Server | undefined;
let browser: BrowserContext | undefined;
let profile: string | undefined;
afterEach(async () => {
  await browser?.close();
  await new Promise((resolve) => (page ? page.close(resolve) : resolve(undefined)));
  await t?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
  browser = page = t = profile = undefined;
});

/** What the page did, step by step: each CONNECT's outcome, and the message it got. */
interface PageOutcome {
  connects: Record<string, { accepted: boolean; code?: number }>;
  received?: { topic: string; payload: string };
}

describe.skipIf(!AVAILABLE)('a browser (headless Chromium, mqtt.js browser build) over wss with CUSTOM-JWT', () => {
  it('holds two sessions of one identity, is refused another identity\'s session name, and receives a message', async () => {
    // A browser cannot answer a request for a client certificate: the wss port asks for none.
    t = await startTestBroker(startReferenceBroker, {}, { wsClientCertificates: 'none' });
    const wsUrl = t.broker.wsUrl;
    if (!wsUrl) throw new Error('the reference broker serves no wss');
    const served = await servePage();
    page = served.server;
    profile = mkdtempSync(join(tmpdir(), 'mmc-chromium-'));
    // A fresh profile (--user-data-dir) each time; headless (--headless) and nothing that calls out.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
        `--ignore-certificate-errors-spki-list=${spkiHash(t.pki.read(t.pki.manifest.server.certificate))}`,
      ],
    });
    const tab = browser.pages()[0] ?? (await browser.newPage());
    await tab.goto(served.url);
    const [alpha, beta] = await Promise.all([issueToken(t.pki, { identity: 'alpha' }), issueToken(t.pki, { identity: 'beta' })]);
    const topic = sessionTopic('mmc', 'alpha', 'browser-s2');
    const outcome = await tab.evaluate(
      async ({ url, alpha, beta, topic }): Promise<PageOutcome> => {
        const mqtt = (globalThis as unknown as { mqtt: { connect(url: string, options: object): any } }).mqtt;
        const encoder = new TextEncoder();
        const clients: Record<string, any> = {};
        const connect = (clientId: string, token: string) =>
          new Promise<{ accepted: boolean; code?: number }>((resolve) => {
            const client = mqtt.connect(url, {
              protocolVersion: 5,
              clientId,
              clean: true,
              reconnectPeriod: 0,
              connectTimeout: 5000,
              properties: { sessionExpiryInterval: 0, authenticationMethod: 'CUSTOM-JWT', authenticationData: encoder.encode(token) },
            });
            clients[clientId] = client;
            client.once('connect', () => resolve({ accepted: true }));
            client.once('error', (error: { code?: number }) => resolve({ accepted: false, code: error.code }));
            client.once('close', () => resolve({ accepted: false }));
          });
        const connects: PageOutcome['connects'] = {};
        connects['alpha s1'] = await connect('browser-s1', alpha);
        connects['alpha s2'] = await connect('browser-s2', alpha);
        const other = clients['browser-s1'];
        clients['browser-s1'] = undefined;
        connects['beta s1'] = await connect('browser-s1', beta);
        clients['browser-s1'] = other;
        const receiver = clients['browser-s2'];
        const received = new Promise<{ topic: string; payload: string }>((resolve) =>
          receiver.on('message', (topic: string, payload: Uint8Array) => resolve({ topic, payload: new TextDecoder().decode(payload) })),
        );
        await receiver.subscribeAsync(topic, { qos: 1 });
        await other.publishAsync(topic, 'from the browser', { qos: 1 });
        const message = await Promise.race([received, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000))]);
        for (const client of Object.values(clients)) client?.end(true);
        return { connects, received: message };
      },
      { url: wsUrl, alpha, beta, topic },
    );
    expect(outcome.connects).toEqual({ 'alpha s1': { accepted: true }, 'alpha s2': { accepted: true }, 'beta s1': { accepted: false, code: 0x87 } });
    expect(outcome.received).toEqual({ topic, payload: 'from the browser' });
    expect(t.log).toContainEqual(expect.stringMatching(/^refused session "browser-s1" \[S6\] 0x87/));
  }, 60_000);
});
