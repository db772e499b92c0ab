/**
 * What beat keeps on RabbitMQ, as messages: the leader's snapshot (every stored entry and every
 * entry's state, numbered), and runtime changes waiting for a leader to fold them in.
 */
import type { Channel } from 'amqplib';
import type { BeatState } from '../plan.js';
import type { StoredEntry } from '../store.js';

/** One snapshot: the whole of beat's store. `seq` grows with every write. */
export interface Snapshot {
  v: 1;
  seq: number;
  at: number;
  entries: Record<string, StoredEntry>;
  state: BeatState;
}

/** A runtime change sent by `app.beat.set/remove` or the CLI, applied by the leader. */
export interface Change {
  op: 'set' | 'remove';
  name: string;
  stored?: StoredEntry;
}

/** The snapshot before anything was ever written. */
export function emptySnapshot(): Snapshot {
  return { v: 1, seq: 0, at: 0, entries: {}, state: {} };
}

/** Read every ready message of `queue` and put them all back (basic.get, then nack with requeue). */
export async function peekAll(channel: Channel, queue: string, limit = 100_000): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let m = await channel.get(queue, { noAck: false }); m; m = out.length < limit ? await channel.get(queue, { noAck: false }) : false) out.push(m.content);
  if (out.length > 0) channel.nackAll(true);
  return out;
}

/** The highest-numbered snapshot among `bodies` (several remain after a reader's requeue races a write). */
export function latestSnapshot(bodies: readonly Buffer[]): Snapshot {
  let best = emptySnapshot();
  for (const body of bodies) {
    try {
      const s = JSON.parse(body.toString('utf8')) as Snapshot;
      if (s && s.v === 1 && typeof s.seq === 'number' && s.seq > best.seq) best = s;
    } catch {
      // Not ours: ignore it rather than lose the schedule over it.
    }
  }
  return best;
}

/** Parse a change message; undefined for anything malformed. */
export function parseChange(body: Buffer): Change | undefined {
  try {
    const c = JSON.parse(body.toString('utf8')) as Change;
    if ((c.op === 'set' && c.stored && typeof c.name === 'string') || (c.op === 'remove' && typeof c.name === 'string')) return c;
  } catch {
    // fall through
  }
  return undefined;
}

/** Apply a change to entries in place. */
export function applyChange(entries: Record<string, StoredEntry>, change: Change): void {
  if (change.op === 'set' && change.stored) entries[change.name] = change.stored;
  else delete entries[change.name];
}
