// The folder lock on a filesystem without hard links (vfat, some CIFS and FUSE mounts), where link(2)
// fails with EPERM: the lock is then created exclusively and written, and may be read unfinished.
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { temporaryDir } from '../common/test-support.ts';
import { withFolderLock } from './folder-lock.ts';

vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const linkSync: typeof fs.linkSync = () => {
    throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
  };
  return { ...fs, default: { ...fs, linkSync }, linkSync };
});

const nothing = () => {};

describe('the folder lock without hard links', () => {
  it('is held by one caller at a time, and holds its holder\'s process id while held', async () => {
    const dir = join(temporaryDir(), 'pki');
    const lock = join(dir, '..', '.pki.lock');
    const turns: string[] = [];
    const turn = (name: string) => async () => {
      turns.push(`${name} in`);
      expect(readFileSync(lock, 'utf8')).toMatch(new RegExp(`^${process.pid}( \\d+)?\\n$`));
      await sleep(200);
      turns.push(`${name} out`);
    };
    await Promise.all([withFolderLock(dir, nothing, turn('one')), withFolderLock(dir, nothing, turn('other'))]);
    expect(turns).toEqual(['one in', 'one out', 'other in', 'other out']);
    expect(existsSync(lock)).toBe(false);
  });

  it('waits for a lock still being written (its line unfinished), and takes one left unfinished for seconds', async () => {
    const dir = join(temporaryDir(), 'pki');
    const lock = join(dir, '..', '.pki.lock');
    writeFileSync(lock, '');
    let entered = false;
    const locked = withFolderLock(dir, nothing, async () => {
      entered = true;
    });
    await sleep(500);
    expect(entered).toBe(false);
    await locked;
    expect(entered).toBe(true);

    writeFileSync(lock, '12');
    const longAgo = new Date(Date.now() - 10_000);
    utimesSync(lock, longAgo, longAgo);
    const started = Date.now();
    await withFolderLock(dir, nothing, async () => {});
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
