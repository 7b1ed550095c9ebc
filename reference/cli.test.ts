// npm run broker as a device team runs it: it says where it listens, serves the PKI's identities,
// and stops cleanly on Ctrl-C.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { expect, inject, it } from 'vitest';
import { loadPki } from '../certs/manifest.ts';
import { runScript, scriptArgs, temporaryDir } from '../common/test-support.ts';
import { namespaceFromPki } from '../certs/namespace.ts';
import { clientUrls } from './broker.ts';
import { SessionClient } from '../mqtt-client/session-client.ts';

it('serves the PKI identities on a free port and stops on SIGINT', async () => {
  const pki = loadPki(inject('pkiDir'));
  const broker = spawn(process.execPath, [...scriptArgs('reference/cli.ts'), '--port', '0', '--ws-port', '0', '--pki', pki.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  broker.stdout.on('data', (chunk) => (output += chunk));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      broker.stdout.on('data', () => {
        const found = /listening on (mqtts:\/\/127\.0\.0\.1:\d+) and wss:\/\/127\.0\.0\.1:\d+\/mqtt$/m.exec(output)?.[1];
        if (found && output.includes('press Ctrl-C')) resolve(found);
      });
      broker.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${output}`)));
    });
    expect(output).toMatch(/alpha +SubjectMatchesAuthenticationName +Enabled/);
    expect(output).toMatch(/delta-disabled +SubjectMatchesAuthenticationName +Disabled/);
    const outcome = await SessionClient.connect({ url, ca: pki.rootCaPem, identity: pki.identities.get('alpha')!, sessionName: 'cli-s1', version: '5', timeoutMs: 5000 });
    expect(outcome.accepted).toBe(true);
    if (outcome.accepted) await outcome.client.disconnect();
    broker.kill('SIGINT');
    const [code] = await once(broker, 'exit');
    expect(code).toBe(0);
    expect(output).toMatch(/accepted session "cli-s1" for client "alpha"/);
    expect(output.trim().split('\n').at(-1)).toBe('stopped');
  } finally {
    broker.kill('SIGKILL');
  }
}, 30_000);

it('exits at once with one line when the port is taken', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as { port: number };
  try {
    const run = await runScript('reference/cli.ts', ['--port', String(port), '--ws-port', '0', '--pki', inject('pkiDir')]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe(`error: 127.0.0.1:${port} is already in use: choose another --port`);
    const ws = await runScript('reference/cli.ts', ['--port', '0', '--ws-port', String(port), '--pki', inject('pkiDir')]);
    expect(ws.exitCode).toBe(2);
    expect(ws.stderr.trim()).toBe(`error: 127.0.0.1:${port} is already in use: choose another --ws-port`);
    const bad = await runScript('reference/cli.ts', ['--ws-port', 'none', '--pki', inject('pkiDir')]);
    expect(bad.stderr.trim()).toBe('error: --ws-port must be a whole number from 0 to 65535 or off, not "none"');
  } finally {
    taken.close();
  }
}, 45_000);

it('adds --server-name names to the server certificate, and says at start-up that 0 CA certificates refuse every chain client', async () => {
  const dir = join(temporaryDir(), 'pki');
  cpSync(inject('pkiDir'), dir, { recursive: true });
  const pki = loadPki(dir);
  const namespaceFile = join(temporaryDir(), 'namespace.json');
  writeFileSync(namespaceFile, JSON.stringify({ ...namespaceFromPki(pki), caCertificates: [] }));
  const broker = spawn(
    process.execPath,
    [...scriptArgs('reference/cli.ts'), '--port', '0', '--ws-port', 'off', '--pki', dir, '--namespace', namespaceFile, '--server-name', 'mqtt.test.internal', '--server-name', '10.9.8.7'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  broker.stdout.on('data', (chunk) => (output += chunk));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      broker.stdout.on('data', () => {
        const found = /listening on mqtts:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
        if (found && output.includes('press Ctrl-C')) resolve(Number(found));
      });
      broker.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${output}`)));
    });
    expect(output).toMatch(/warning: 0 CA certificates: every certificate-chain client will be refused/);
    expect(output).toMatch(/server certificate names: localhost, mqtt\.test\.internal, 127\.0\.0\.1, ::1, 10\.9\.8\.7/);
    // A client that knows the broker as mqtt.test.internal accepts its certificate.
    const peer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername: 'mqtt.test.internal', ca: pki.rootCaPem }, () => {
        resolve(socket.getPeerCertificate().subjectaltname ?? '');
        socket.end();
      });
      socket.once('error', reject);
    });
    expect(peer).toMatch(/DNS:mqtt\.test\.internal/);
    expect(peer).toMatch(/IP Address:10\.9\.8\.7/);
  } finally {
    broker.kill('SIGKILL');
  }
}, 60_000);

it('gives a wildcard listener the URLs a client can use, not mqtts://0.0.0.0', () => {
  const names = { dns: ['localhost', 'mqtt.test.internal'], ip: ['127.0.0.1', '::1', '10.9.8.7'] };
  const { urls, unnamed } = clientUrls('0.0.0.0', 8883, names, ['127.0.0.1', '::1', '10.9.8.7', '192.168.5.5']);
  expect(urls).toEqual(['mqtts://localhost:8883', 'mqtts://mqtt.test.internal:8883', 'mqtts://127.0.0.1:8883', 'mqtts://10.9.8.7:8883']);
  expect(unnamed).toEqual(['192.168.5.5']);
  expect(urls.join(' ')).not.toMatch(/0\.0\.0\.0/);
  expect(clientUrls('127.0.0.1', 8883, names, []).urls).toEqual(['mqtts://127.0.0.1:8883']);
});

it('with --webhook, authenticates by the test webhook: its password lets a client without a certificate in, another is denied', async () => {
  const pki = loadPki(inject('pkiDir'));
  const broker = spawn(process.execPath, [...scriptArgs('reference/cli.ts'), '--port', '0', '--pki', pki.dir, '--webhook'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  broker.stdout.on('data', (chunk) => (output += chunk));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      broker.stdout.on('data', () => {
        const found = /listening on (mqtts:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
        if (found && output.includes('press Ctrl-C')) resolve(found);
      });
      broker.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${output}`)));
    });
    expect(output).toMatch(/webhook authentication: http:\/\/127\.0\.0\.1:\d+\/authenticate, password webhook-allow \(allow\)/);
    const connect = (password: string) => SessionClient.connect({ url, ca: pki.rootCaPem, identity: pki.identities.get('alpha')!, sessionName: 'cli-w1', version: '5', timeoutMs: 5000, password, sessionExpiry: 0 });
    const allowed = await connect('webhook-allow');
    expect(allowed.accepted).toBe(true);
    if (allowed.accepted) await allowed.client.disconnect();
    expect(await connect('wrong')).toMatchObject({ accepted: false, code: 0x87 });
    broker.kill('SIGINT');
    const [code] = await once(broker, 'exit');
    expect(code).toBe(0);
  } finally {
    broker.kill('SIGKILL');
  }
});
