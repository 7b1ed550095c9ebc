import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { docsLink, INSTALLED, toolCommand } from './package.ts';

describe('hints name the command as the user types it', () => {
  it('in this checkout: the npm scripts, with -- before the flags', () => {
    expect(INSTALLED).toBe(false);
    expect(toolCommand('run', '--rules S6')).toBe('npm run conformance -- --rules S6');
    expect(toolCommand('certs', '--renew')).toBe('npm run certs -- --renew');
    expect(toolCommand('provision')).toBe('npm run provision');
    expect(docsLink('access-control.md')).toBe('docs/access-control.md');
  });

  it('installed: npx and the bin, and the docs inside the installed package', () => {
    expect(toolCommand('run', '--rules S6', true)).toBe('npx mqtt-multisession-conformance run --rules S6');
    expect(toolCommand('certs', '', true)).toBe('npx mqtt-multisession-conformance certs');
    // docs/*.md ship in the package (package.json "files"): the link is a file the user can open.
    expect(existsSync(docsLink('access-control.md', true))).toBe(true);
  });
});
