// Breaking a stale folder lock while other waiters race for it, made certain rather than left to chance:
// the waiter under test has judged the lock stale; before it breaks it, another waiter breaks it and
// takes the lock; and a third takes the lock's name whenever the waiter under test leaves it free. The
// lock the second waiter holds must stay where it is, and no third waiter get a lock of its own
// meanwhile (two writers). fs is wrapped for the third waiter's turn; process.kill, for the moment.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { temporaryDir } from '../common/test-support.ts';
import { rightToBreak, waiterFile, withFolderLock } from './folder-lock.ts';

/** Run after each call that can free a name: the third waiter's chance to take the lock. */
const afterFree = vi.hoisted(() => ({ hook: undefined as (() => void) | undefined }));

vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const freeing = <F extends (...args: never[]) => unknown>(call: F) =>
    ((...args: Parameters<F>) => {
      const result = call(...args);
      afterFree.hook?.();
      return result;
    }) as F;
  const wrapped = { renameSync: freeing(fs.renameSync), rmSync: freeing(fs.rmSync), unlinkSync: freeing(fs.unlinkSync) };
  return { ...fs, default: { ...fs, ...wrapped }, ...wrapped };
});

afterEach(() => {
  afterFree.hook = undefined;
  vi.restoreAllMocks();
});

describe('breaking a stale folder lock', () => {
  it('never removes or replaces a lock another waiter took after this one judged the old lock stale', async () => {
    const dir = join(temporaryDir(), 'pki');
    const lock = join(dir, '..', '.pki.lock');
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lock, `${deadPid}\n`);
    // A live holder's line: the test runner's parent process, which outlives the test.
    const second = `${process.ppid}\n`;
    const thirdTook: string[] = [];
    const kill = process.kill.bind(process);
    vi.spyOn(process, 'kill').mockImplementation((pid, signal) => {
      // Asked whether the stale lock's process lives: this waiter is judging it stale. Meanwhile the
      // second waiter breaks it and takes the lock, and from then on a third takes any name left free.
      if (pid === deadPid && !afterFree.hook) {
        // A lock file of its own (another inode), in the stale one's place.
        writeFileSync(`${lock}-second`, second);
        renameSync(`${lock}-second`, lock);
        afterFree.hook = () => {
          if (existsSync(lock)) return;
          writeFileSync(lock, `${process.ppid} third\n`);
          thirdTook.push('took the lock while the second waiter held it');
        };
      }
      return kill(pid, signal);
    });
    const waited: string[] = [];
    let wrote = false;
    const locked = withFolderLock(dir, (line) => waited.push(`${line}; the lock: ${JSON.stringify(readFileSync(lock, 'utf8'))}`), async () => {
      wrote = true;
    });
    await vi.waitFor(() => expect(waited).toHaveLength(1), { timeout: 5000 });
    expect(wrote).toBe(false);
    expect(thirdTook).toEqual([]);
    expect(waited).toEqual([`waiting for process ${process.ppid}, which is writing the PKI set in ${dir}; the lock: ${JSON.stringify(second)}`]);
    // The second waiter is done: this one takes the lock.
    afterFree.hook = undefined;
    rmSync(lock);
    await locked;
    expect(wrote).toBe(true);
    expect(existsSync(lock)).toBe(false);
  });

  /** A stale lock (its process gone) and a waiter's right to break it, naming `claimer`'s process. */
  function staleLockBeingBroken(claimer: (deadPid: number) => number) {
    const parent = temporaryDir();
    const lock = join(parent, '.pki.lock');
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lock, `${deadPid}\n`);
    const { ino: inode, mtimeMs: modifiedMs } = statSync(lock);
    const right = rightToBreak(lock, { inode, modifiedMs }, 1);
    writeFileSync(right, `${claimer(deadPid)}\n`);
    return { parent, dir: join(parent, 'pki'), lock, right, staleLine: `${deadPid}\n` };
  }

  it("needs no longer a name than a waiter's own file beside the lock, whatever its process id", () => {
    // A folder whose name leaves just room for the waiter's own file (process id 1, as in a container)
    // must leave room for the right too: a longer right failed there with ENAMETOOLONG, only when a lock was stale.
    const lock = '/some/folder/.pki.lock';
    const shortestOwn = waiterFile(lock, 1).length;
    for (const generation of [1, 9_999_999]) expect(rightToBreak(lock, { inode: 2 ** 40, modifiedMs: Date.now() }, generation).length).toBeLessThanOrEqual(shortestOwn);
  });

  it('is broken at once where a waiter was killed while breaking it (its right to, left behind, names a dead process)', async () => {
    const { parent, dir, lock, right } = staleLockBeingBroken((deadPid) => deadPid);
    const started = Date.now();
    await withFolderLock(dir, () => {}, async () => {});
    expect(Date.now() - started).toBeLessThan(1000);
    expect(existsSync(lock)).toBe(false);
    // The dead waiter's leftover stays; the one that broke the lock removed its own.
    expect(readdirSync(parent).filter((name) => name.startsWith(`${basename(lock)}-b`))).toEqual([basename(right)]);
  });

  it('is left to the waiter that holds the right to break it, which this one waits for (its event loop free)', async () => {
    const { dir, lock, right, staleLine } = staleLockBeingBroken(() => process.ppid);
    let wrote = false;
    const locked = withFolderLock(dir, () => {}, async () => {
      wrote = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(wrote).toBe(false);
    expect(readFileSync(lock, 'utf8')).toBe(staleLine);
    // That waiter is gone without breaking it (its right removed): this one breaks it.
    rmSync(right);
    await locked;
    expect(wrote).toBe(true);
  });
});
