// A share of the CPU for one process of a benchmark (--cpu-limit), through a Linux cgroup of its own
// (v1's cpu controller, or v2's cpu.max). On a machine whose cores the benchmark's clients share with
// the brokers, giving each broker the same fixed share keeps the clients from being what bounds a
// rate: two instances can then show what each adds, as they would on machines of their own. Needs root
// (or a delegated cgroup); without one it says so in one line.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../common/errors.ts';

/** The scheduler's period the quota is a share of, µs (the kernel's default). */
const PERIOD_MICROS = 100_000;

interface Hierarchy {
  root: string;
  /** Writes the quota into a new group's folder. */
  limit(dir: string, quotaMicros: number): void;
}

function hierarchy(): Hierarchy {
  if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) {
    return {
      root: '/sys/fs/cgroup/cpu',
      limit(dir, quotaMicros) {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_MICROS));
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaMicros));
      },
    };
  }
  const controllers = '/sys/fs/cgroup/cgroup.subtree_control';
  if (existsSync(controllers)) {
    return {
      root: '/sys/fs/cgroup',
      limit(dir, quotaMicros) {
        if (!readFileSync(controllers, 'utf8').trim().split(/\s+/).includes('cpu')) writeFileSync(controllers, '+cpu');
        writeFileSync(join(dir, 'cpu.max'), `${quotaMicros} ${PERIOD_MICROS}`);
      },
    };
  }
  throw new UserError('--cpu-limit needs a Linux cgroup cpu controller (/sys/fs/cgroup/cpu or cgroup v2), and none is mounted');
}

/** How many times a busy cgroup's removal is tried, and how long apart, ms: about a second in all. */
const REMOVE_TRIES = 20;
const REMOVE_RETRY_MS = 50;

/**
 * Removes a cgroup's folder. Right after its process's exit is seen, the kernel may still count the
 * process in the group, and rmdir fails with EBUSY: it is tried again, a bounded number of times; a
 * group that will not go is left, said in one line (to `say`), never thrown: the benchmark's figures
 * are what matters. Already gone is gone.
 */
export async function removeCgroup(dir: string, { rmdir = rmdirSync, say = console.error, retryMs = REMOVE_RETRY_MS }: { rmdir?: (dir: string) => void; say?: (line: string) => void; retryMs?: number } = {}): Promise<void> {
  for (let tries = 1; ; tries += 1) {
    try {
      rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || tries === REMOVE_TRIES) {
        say(`--cpu-limit: the cgroup ${dir} could not be removed (${code ?? (error as Error).message}${code === 'EBUSY' ? `, ${tries} tries` : ''}): remove it with rmdir once its processes are gone`);
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

/**
 * Puts the process `pid` in a cgroup of its own limited to `cores` (0.5 = half of one core); the
 * returned function removes the group once the process has exited (removeCgroup: it never throws).
 */
export function limitCpu(pid: number, cores: number): () => Promise<void> {
  const { root, limit } = hierarchy();
  const dir = join(root, `mmc-bench-${process.pid}-${pid}`);
  try {
    mkdirSync(dir);
    limit(dir, Math.round(cores * PERIOD_MICROS));
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  } catch (error) {
    if (existsSync(dir)) rmdirSync(dir);
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    // cgroup v2 lets a group hand its controllers down only while it holds no process itself: the root of
    // a container's own cgroup namespace holds the container's.
    const why = code === 'EBUSY' ? `${root} holds processes of its own (a container's cgroup namespace), so its cpu controller cannot be handed down` : 'it needs root';
    throw new UserError(`--cpu-limit could not make a cgroup in ${root} (${code}): ${why}`);
  }
  return () => removeCgroup(dir);
}

/** --cpu-limit's value: a share of one core, from 0.05 to 64. */
export function coresFlag(text: string): number {
  const cores = Number(text);
  if (text.trim() === '' || !Number.isFinite(cores) || cores < 0.05 || cores > 64) {
    throw new UserError(`--cpu-limit must be a number of cores from 0.05 to 64 (0.5 = half a core), not "${text}"`);
  }
  return cores;
}
