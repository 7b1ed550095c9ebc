// A cgroup's removal after its process exits (bench:redis --cpu-limit): the code path alone, with an
// injected rmdir, as making a cgroup needs root.
import { describe, expect, it } from 'vitest';
import { removeCgroup } from './cpu-limit.ts';

/** An rmdir that fails with `codes`, one a call, then succeeds; with the calls it got. */
function failing(...codes: string[]): { rmdir(dir: string): void; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    rmdir(dir) {
      calls.push(dir);
      const code = codes.shift();
      if (code) throw Object.assign(new Error(`${code}: rmdir '${dir}'`), { code });
    },
  };
}

describe("removing a benchmark process's cgroup", () => {
  it('tries again while the group is still busy right after its process exited, and says nothing once it goes', async () => {
    const fs = failing('EBUSY', 'EBUSY');
    const said: string[] = [];
    await removeCgroup('/sys/fs/cgroup/mmc-bench-1-2', { rmdir: fs.rmdir, say: (line) => said.push(line), retryMs: 1 });
    expect(fs.calls).toHaveLength(3);
    expect(said).toEqual([]);
  });

  it('gives up after a bounded number of tries on a group that stays busy, saying so in one line instead of throwing', async () => {
    const fs = failing(...Array<string>(100).fill('EBUSY'));
    const said: string[] = [];
    await removeCgroup('/sys/fs/cgroup/mmc-bench-1-2', { rmdir: fs.rmdir, say: (line) => said.push(line), retryMs: 1 });
    expect(fs.calls.length).toBeGreaterThan(1);
    expect(fs.calls.length).toBeLessThan(100);
    expect(said).toEqual([`--cpu-limit: the cgroup /sys/fs/cgroup/mmc-bench-1-2 could not be removed (EBUSY, ${fs.calls.length} tries): remove it with rmdir once its processes are gone`]);
  });

  it('says at once why another failure leaves the group, and takes a group already gone as removed', async () => {
    const denied = failing('EACCES');
    const said: string[] = [];
    await removeCgroup('/sys/fs/cgroup/mmc-bench-1-2', { rmdir: denied.rmdir, say: (line) => said.push(line), retryMs: 1 });
    expect(denied.calls).toHaveLength(1);
    expect(said).toEqual(['--cpu-limit: the cgroup /sys/fs/cgroup/mmc-bench-1-2 could not be removed (EACCES): remove it with rmdir once its processes are gone']);
    const gone = failing('ENOENT');
    await removeCgroup('/sys/fs/cgroup/mmc-bench-1-2', { rmdir: gone.rmdir, say: (line) => said.push(line), retryMs: 1 });
    expect(gone.calls).toHaveLength(1);
    expect(said).toHaveLength(1);
  });
});
