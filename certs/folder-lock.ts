// A lock file beside a folder, held by one process at a time while it writes the folder: two brokers or
// runs started at once on one empty --pki folder would otherwise each make a set, and the one published
// last would replace the set the other had already loaded (its clients then failing verification).
//
// The lock is `.NAME.lock` beside the folder, holding its holder's process id and, on Linux, that
// process's start time. It is made whole (written under a name of its own, then linked to the lock's
// name, which fails while one is there), so that a waiter never reads an empty lock. A lock whose process
// is gone (killed while writing) is stale: a waiter that sees it removes it (breakStale) and takes the lock.
// Process ids repeat (a container's node is PID 1 at every start), so a lock naming a live process is
// stale too when that process started at another time than its holder did, or is this process and this
// process does not hold it.
//
// On a filesystem without hard links (vfat, some CIFS and FUSE mounts) the lock is instead created
// exclusively and then written: a lock not yet whole (its line unfinished) is being written, and stale
// only once it has stayed so for a while.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PkiError } from './manifest.ts';

const POLL_MS = 100;
/** How long a caller waits for another process's lock: making a set takes 1-3 s on a loaded 2-core machine. */
const WAIT_MS = 60_000;
/** How long a lock may stay unfinished before it is judged the leftover of a process killed writing it. */
const WRITING_MS = 2_000;
/** What link(2) fails with where the filesystem has no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** The locks this process holds now: a lock naming this process's id and not in here is a dead run's. */
const held = new Set<string>();

/** The lock cannot be made where it belongs (the place beside the folder cannot be written). */
export class UnwritableLockError extends PkiError {
  override name = 'UnwritableLockError';
}

/** Runs `write` while holding the lock on `dir`, waiting for another process that holds it. */
export async function withFolderLock<T>(dir: string, log: (line: string) => void, write: () => Promise<T>): Promise<T> {
  const lock = join(dirname(dir), `.${basename(dir)}.lock`);
  // Its own name for each caller, callers in one process among them.
  const mine = waiterFile(lock);
  const content = `${[process.pid, startTimeOf(process.pid)].filter((field) => field !== undefined).join(' ')}\n`;
  try {
    // The folders above it are made as the set's would be (--out a/new/folder).
    mkdirSync(dirname(dir), { recursive: true });
    writeFileSync(mine, content);
  } catch (error) {
    throw new UnwritableLockError(`cannot write a PKI set beside ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const deadline = Date.now() + WAIT_MS;
    let told = false;
    while (!take(mine, lock, content)) {
      const holder = holderOf(lock);
      // Another waiter breaking it: waited for as a holder is (it is quick, unless that waiter is stopped).
      if (holder && stale(lock, holder) && breakStale(lock, holder, mine, content)) continue;
      if (Date.now() > deadline) {
        throw new PkiError(`process ${holder?.pid ?? '?'} has held ${lock} for over ${WAIT_MS / 1000} s while writing ${dir}; if no process is writing it, delete ${lock}`);
      }
      if (!told && holder?.pid !== undefined) {
        log(`waiting for process ${holder.pid}, which is writing the PKI set in ${dir}`);
        told = true;
      }
      await sleep(POLL_MS);
    }
  } finally {
    rmSync(mine, { force: true });
  }
  held.add(lock);
  try {
    return await write();
  } finally {
    // Removed before it leaves `held`, so that no caller of this process judges it stale meanwhile.
    rmSync(lock, { force: true });
    held.delete(lock);
  }
}

function take(mine: string, lock: string, content: string): boolean {
  try {
    linkSync(mine, lock);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (!code || !NO_HARD_LINKS.has(code)) throw new UnwritableLockError(`cannot lock ${lock}: ${code ?? (error as Error).message}`);
  }
  try {
    writeFileSync(lock, content, { flag: 'wx' });
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    throw new UnwritableLockError(`cannot lock ${lock}: ${code ?? (error as Error).message}`);
  }
}

interface Holder {
  /** Undefined while the lock is being written (made without a hard link, its line not yet whole). */
  pid?: number;
  /** The holder's start time where the lock records one (Linux), to tell it from a later process with its id. */
  startTime?: string;
  inode: number;
  modifiedMs: number;
}

/**
 * The lock's holder, or undefined when it was released between the attempt and this read. Its content
 * and inode are read through one descriptor: read by name in two calls, they could be of two locks (a
 * stale one's dead pid, and the inode of a live lock that replaced it), and the live one be broken.
 */
function holderOf(lock: string): Holder | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(lock, 'r');
    const { ino: inode, mtimeMs: modifiedMs } = fstatSync(fd);
    const line = readFileSync(fd, 'utf8');
    if (!line.endsWith('\n')) return { inode, modifiedMs };
    const [pid, startTime] = line.trim().split(' ');
    return { pid: Number.parseInt(pid!, 10), ...(startTime ? { startTime } : {}), inode, modifiedMs };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function stale(lock: string, holder: Holder): boolean {
  if (holder.pid === undefined) return Date.now() - holder.modifiedMs > WRITING_MS;
  if (holder.pid === process.pid) return !held.has(lock);
  if (!alive(holder.pid)) return true;
  const startTime = holder.startTime && startTimeOf(holder.pid);
  return startTime !== undefined && startTime !== holder.startTime;
}

/**
 * When a process started, in clock ticks since boot (field 22 of /proc/PID/stat), or undefined where
 * there is no /proc (the lock then names the process by its id alone).
 */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2, the command's name in parentheses, may hold spaces: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process is there, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether two reads of a lock are of one lock file: the same file, not changed since. */
function sameLock(a: Holder, b: Holder): boolean {
  return a.inode === b.inode && a.modifiedMs === b.modifiedMs && a.pid === b.pid && a.startTime === b.startTime;
}

/**
 * Removes a stale lock, unless it has already been replaced (another waiter broke it and took the lock).
 * A lock is removed by its name, so what is removed is checked first, and must not change between that
 * check and the removal: only one waiter at a time may break a given stale lock (it holds the right to,
 * `claimBreak`), and no one else removes it (its holder is gone; a new lock cannot be made while it is
 * there). A waiter that judged it stale before another broke it and took the lock then finds that new
 * lock in its place, and leaves it. (Moving the lock aside and putting it back when it was not the
 * stale one, as before, could put it back over a lock a third waiter had taken meanwhile: two writers.)
 * False when another waiter holds the right: this one then waits, as for a holder.
 */
function breakStale(lock: string, judged: Holder, mine: string, content: string): boolean {
  const right = claimBreak(lock, judged, mine, content);
  if (!right) return false;
  try {
    const now = holderOf(lock);
    if (now && sameLock(now, judged)) rmSync(lock, { force: true });
  } finally {
    rmSync(right, { force: true });
  }
  return true;
}

/**
 * A waiter's own file beside the lock, which it links to the lock's name to take it: its process id and
 * sixteen random hex digits, so that it is never shorter than a right to break a stale lock
 * (rightToBreak), which a folder's name must leave room for as it does for this one.
 */
export function waiterFile(lock: string, pid = process.pid): string {
  return `${lock}-${pid}-${randomBytes(8).toString('hex')}`;
}

/**
 * The name of a generation of the right to break the lock file `stale` (its inode and mtime, hashed): no
 * longer than a caller's own file beside the lock (at least 19 characters after the lock's name, for
 * process id 1), which a folder's name must leave room for, below ten million generations.
 */
export function rightToBreak(lock: string, stale: Pick<Holder, 'inode' | 'modifiedMs'>, generation: number): string {
  return `${lock}-b${createHash('sha256').update(`${stale.inode} ${stale.modifiedMs}`).digest('hex').slice(0, 8)}-${generation}`;
}

/**
 * The right to break one stale lock, made as a lock is (exclusively, holding this process's line): its
 * name, or undefined while another waiter holds it. A waiter killed while breaking leaves its right
 * behind, whose process is gone: the next generation's right is then taken, so that the lock is not
 * held for ever (such a leftover stays beside the lock, git-ignored as the lock's other leftovers are).
 */
function claimBreak(lock: string, judged: Holder, mine: string, content: string): string | undefined {
  for (let generation = 1; ; generation += 1) {
    const right = rightToBreak(lock, judged, generation);
    if (take(mine, right, content)) return right;
    const claimer = holderOf(right);
    if (!claimer || !stale(right, claimer)) return undefined;
  }
}
