/**
 * Process identity and liveness. Claimed directories, staging files and owned queues carry an
 * owner id `<pid>-<start token>` so any process can tell whether their owner is gone and
 * recover what it held.
 *
 * A pid alone is not enough: after a crash the pid can be reused by an unrelated process, and
 * the dead owner's claims would then be held forever. On Linux the start token is the process
 * start time from /proc/<pid>/stat (clock ticks since boot), so a reused pid has a different
 * token. Without /proc the token is the start time in ms prefixed by `t`, and liveness also
 * needs a lease file under owners/ touched every few seconds; a process that stops touching it
 * for LEASE_STALE_MS counts as dead even if its pid is taken. (The lease is not used on Linux on
 * purpose: a worker blocking its event loop for a minute must not lose its claims.)
 */
import { readFileSync } from 'node:fs';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** How often the lease file is touched where leases are used. */
export const LEASE_TOUCH_MS = 5000;
/** A lease older than this means the owner is gone. */
export const LEASE_STALE_MS = 30_000;

/** Start time of a process from /proc, or undefined where /proc does not exist. */
function procStartTime(statText: string): string | undefined {
  // Field 2 (comm) may contain spaces and parentheses: count fields after the LAST ')'.
  const rest = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  const ticks = rest[19]; // field 22 (starttime) is the 20th after comm
  // Decimal on purpose: lease tokens start with 't', which base36 digits could also do.
  return ticks && /^\d+$/.test(ticks) ? ticks : undefined;
}

function selfToken(): string {
  try {
    const t = procStartTime(readFileSync('/proc/self/stat', 'utf8'));
    if (t) return t;
  } catch {
    // No /proc (macOS, BSD): fall back to a lease.
  }
  return `t${Math.round(performance.timeOrigin).toString(36)}`;
}

const token = selfToken();

/** This process's owner id. */
export const SELF_OWNER = `${process.pid}-${token}`;

/** True when liveness of this process is proven by a lease file rather than /proc. */
export const USES_LEASE = token.startsWith('t');

const OWNER_PREFIX = /^(\d+)-(\d+|t[0-9a-z]+)(?=$|[.-])/;

/** The owner id a staging file or claimed dir name starts with, if any. */
export function ownerOf(name: string): string | undefined {
  const m = OWNER_PREFIX.exec(name);
  return m ? `${m[1]}-${m[2]}` : undefined;
}

/** Answers "is this owner still running?" for one broker directory. */
export class Liveness {
  constructor(private readonly ownersDir: string) {}

  /** Write or refresh this process's lease (no-op where /proc proves liveness). */
  async touchLease(): Promise<void> {
    if (!USES_LEASE) return;
    const file = path.join(this.ownersDir, SELF_OWNER);
    const now = new Date();
    await utimes(file, now, now).catch(() => writeFile(file, String(process.pid)));
  }

  /**
   * Whether `owner` is alive. Unknown formats count as alive: when in doubt, never steal.
   * `cache` lets one recovery pass ask about the same owner many times for one check.
   */
  async isAlive(owner: string, cache?: Map<string, Promise<boolean>>): Promise<boolean> {
    let p = cache?.get(owner);
    if (!p) {
      p = this.check(owner);
      cache?.set(owner, p);
    }
    return p;
  }

  private async check(owner: string): Promise<boolean> {
    const m = OWNER_PREFIX.exec(owner);
    if (!m) return true;
    const pid = Number(m[1]);
    const tok = m[2] ?? '';
    // Our own pid with another token is a previous run of this pid that died.
    if (pid === process.pid) return tok === token;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      // EPERM: the pid exists but belongs to another user; the token check below decides.
    }
    if (!tok.startsWith('t')) {
      try {
        return procStartTime(await readFile(`/proc/${pid}/stat`, 'utf8')) === tok;
      } catch {
        return false; // exited between kill() and the read
      }
    }
    try {
      const st = await stat(path.join(this.ownersDir, owner));
      return Date.now() - st.mtimeMs < LEASE_STALE_MS;
    } catch {
      return false;
    }
  }
}
