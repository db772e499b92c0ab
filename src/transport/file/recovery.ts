/**
 * Crash recovery: what a dead process held goes back to where it belongs. Every connected
 * broker runs one pass on connect and then every RECOVERY_MS (per queue: one readdir, one per
 * claimed directory and a stat of delayed/; never per message). Several processes may recover
 * the same dead owner at once: every step is a rename or unlink where ENOENT just means another
 * process did it first.
 *
 * - claimed/<dead owner>-c<n>/<base>.<g> -> ready/<base>.<g+1>, so the next delivery says
 *   redelivered=true and acks-late work survives kill -9;
 * - delayed messages that are due move to ready, for queues nobody consumes here (see
 *   delay-mover.ts: this is the on-connect pass, then a rare one);
 * - owned queues (exclusive / autoDelete / expiring) whose owner is dead and that no live
 *   consumer is attached to are deleted, with their bindings;
 * - staging files and trash left by dead owners are removed.
 */
import { readdir, readFile, rename, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { ignoreGone, removeTree } from './fs-util.js';
import { decodeName, type Layout } from './layout.js';
import { requeuedName } from './message-name.js';
import { ownerOf, type Liveness } from './owner.js';
import type { QueueMeta } from './queue-store.js';

/** How often a connected broker looks for dead owners. */
export const RECOVERY_MS = 1500;

/** What recovery needs from its broker. */
export interface RecoveryHost {
  readonly layout: Layout;
  readonly liveness: Liveness;
  /** Delete a queue and its bindings. */
  deleteQueue(name: string): Promise<void>;
  /** A message file became ready in `queue`. */
  offer(queue: string, name: string): void;
  /** Move the due delayed messages of `queue` into ready/ (cheap when nothing changed). */
  sweepDelayed(queue: string): Promise<void>;
}

/** One recovery pass over the whole broker directory. */
export async function recoverDeadOwners(host: RecoveryHost): Promise<void> {
  const { layout, liveness } = host;
  const alive = new Map<string, Promise<boolean>>(); // one check per owner per pass
  const isDead = async (entry: string): Promise<boolean> => {
    const owner = ownerOf(entry);
    return owner !== undefined && !(await liveness.isAlive(owner, alive));
  };

  for (const encoded of await list(layout.queues)) {
    const queue = decodeName(encoded);
    const claimedRoot = path.join(layout.queues, encoded, 'claimed');
    let liveConsumers = 0;
    for (const dir of await list(claimedRoot)) {
      if (await isDead(dir)) await returnClaims(host, queue, path.join(claimedRoot, dir));
      else liveConsumers++;
    }
    await host.sweepDelayed(queue);
    if (liveConsumers > 0) continue;
    const meta = await readMeta(path.join(layout.queues, encoded, 'meta.json'));
    if (meta?.owner && !(await liveness.isAlive(meta.owner, alive))) {
      // Re-read right before deleting: a live process may have just adopted it by redeclaring.
      const again = await readMeta(path.join(layout.queues, encoded, 'meta.json'));
      if (again?.owner === meta.owner) await host.deleteQueue(queue);
    }
  }

  for (const top of [layout.tmp, layout.trash]) {
    for (const entry of await list(top)) if (await isDead(entry)) await removeTree(path.join(top, entry));
  }
  for (const entry of await list(layout.owners)) if (await isDead(entry)) await removeTree(path.join(layout.owners, entry));
}

/** Move every file of a dead consumer's claimed dir back to ready, marked redelivered. */
async function returnClaims(host: RecoveryHost, queue: string, dir: string): Promise<void> {
  const ready = host.layout.ready(queue);
  for (const name of await list(dir)) {
    const to = requeuedName(name);
    try {
      await rename(path.join(dir, name), path.join(ready, to));
      host.offer(queue, to);
    } catch (err) {
      ignoreGone(err); // another process recovered it first
    }
  }
  await rmdir(dir).catch(() => {});
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    ignoreGone(err);
    return [];
  }
}

async function readMeta(file: string): Promise<QueueMeta | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as QueueMeta;
  } catch {
    return undefined; // gone, or not ours to judge: leave the queue alone
  }
}
