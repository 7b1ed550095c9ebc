// npm run broker as a device team runs it: it says where it listens, serves the PKI's identities,
// and stops cleanly on Ctrl-C.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { expect, inject, it } from 'vitest';
import { loadPki } from '../certs/manifest.ts';
import { runScript } from '../common/test-support.ts';
import { SessionClient } from '../mqtt-client/session-client.ts';

it('serves the PKI identities on a free port and stops on SIGINT', async () => {
  const pki = loadPki(inject('pkiDir'));
  const broker = spawn(process.execPath, ['--import', 'tsx', 'reference/cli.ts', '--port', '0', '--pki', pki.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const run = await runScript('reference/cli.ts', ['--port', String(port), '--pki', inject('pkiDir')]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe(`error: 127.0.0.1:${port} is already in use: choose another --port`);
  } finally {
    taken.close();
  }
}, 15_000);
