// npm run token: a token of the set's local issuer on stdout, alone, that verifies with the issuer's
// certificate and carries what was asked; a user mistake is one error line and exit 2.
import { X509Certificate } from 'node:crypto';
import { compactVerify, decodeJwt, importX509 } from 'jose';
import { expect, inject, it } from 'vitest';
import { runScript } from '../common/test-support.ts';
import { loadPki } from './manifest.ts';
import { LOCAL_TOKEN_ISSUER } from './tokens.ts';

it('prints a token for an identity, signed by the issuer whose certificate the set holds', async () => {
  const pki = loadPki(inject('pkiDir'));
  const run = await runScript('certs/token-cli.ts', ['--pki', pki.dir, '--identity', 'alpha', '--expires-in', '120', '--claim', 'floor=3', '--claim', 'site=north']);
  expect(run.exitCode, run.stderr).toBe(0);
  const token = run.stdout.trim();
  expect(token.split('\n')).toHaveLength(1);
  const certificate = pki.read(pki.manifest.ca.tokenIssuer!.certificate);
  expect(new X509Certificate(certificate).subject).toContain('Token Issuer');
  await compactVerify(token, await importX509(certificate, 'RS256'));
  const claims = decodeJwt(token);
  expect(claims).toMatchObject({ iss: LOCAL_TOKEN_ISSUER, aud: 'https://eventgrid.azure.net/', sub: 'alpha', role: 'client', floor: 3, site: 'north' });
  expect(claims.exp! - claims.iat!).toBe(120);
});

it.each([
  [['--identity', 'nobody'], /^error: no identity "nobody" in .*; the set has alpha, /],
  [[], /^error: --identity is required/],
  [['--identity', 'alpha', '--claim', 'nokey'], /^error: --claim must be KEY=VALUE, not "nokey"/],
])('refuses %j with one line', async (args, message) => {
  const run = await runScript('certs/token-cli.ts', ['--pki', inject('pkiDir'), ...args]);
  expect(run.exitCode).toBe(2);
  // What the set's making says may come first (stderr, as the token alone is stdout); then one error line, no stack.
  const lines = run.stderr.trim().split('\n');
  expect(lines.filter((line) => line.startsWith('error:'))).toHaveLength(1);
  expect(lines.at(-1)).toMatch(message);
  expect(run.stderr).not.toMatch(/^\s+at /m);
});
