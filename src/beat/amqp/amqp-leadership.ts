/**
 * Leading on RabbitMQ, while this instance's election consumer holds the token (see
 * amqp-candidate.ts): keeps the snapshot in memory, folds runtime changes into it, and
 * publishes every new version with a confirm, on the same connection as the election consumer:
 * when that connection dies, the lead and any unconfirmed write die with it.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { LeadershipLostError } from '../../core/errors.js';
import type { AmqpSession } from '../../transport/amqp/session.js';
import type { AmqpCandidate } from './amqp-candidate.js';
import type { BeatState } from '../plan.js';
import type { BeatLogger } from '../scheduler.js';
import type { Leadership, StoredEntry } from '../store.js';
import { applyChange, parseChange, type Snapshot } from './snapshot.js';

/** What a leadership needs from its store. */
export interface LeaderHost {
  readonly names: { changes: string };
  readonly log: BeatLogger;
  /** Publish a snapshot to both state queues and wait for the broker's confirm. */
  publishSnapshot(session: AmqpSession, snapshot: Snapshot): Promise<void>;
}

/** Holding the lock on one connection. */
export class AmqpLeadership implements Leadership {
  readonly #ctl = new AbortController();
  #writing: Promise<void> = Promise.resolve();
  #consumer: Channel | undefined;
  readonly #refresh: NodeJS.Timeout;

  constructor(
    private readonly host: LeaderHost,
    /** The connection that holds the lead. */
    readonly session: AmqpSession,
    private readonly candidate: AmqpCandidate,
    private readonly snapshot: Snapshot,
    refreshMs: number,
  ) {
    candidate.onLost((why) => this.lose(why));
    this.#refresh = setInterval(() => candidate.refresh(), refreshMs).unref();
  }

  get signal(): AbortSignal {
    if (!this.candidate.alive) this.lose('the election consumer or its connection closed');
    return this.#ctl.signal;
  }

  /** Stop leading (the connection or the consumer's channel went away). */
  lose(why: string): void {
    if (this.#ctl.signal.aborted) return;
    clearInterval(this.#refresh);
    this.host.log.warn({ why }, 'beat: RabbitMQ lead lost');
    this.#ctl.abort();
  }

  /**
   * Fold the runtime changes that waited for a leader into the snapshot (acked once written),
   * then consume new ones as they come.
   */
  async start(): Promise<void> {
    const ch = await this.session.openChannel();
    this.#consumer = ch;
    ch.on('error', () => {}); // 'close' follows and is what we act on
    ch.on('close', () => this.lose('the change consumer channel closed'));
    let waiting = 0;
    for (let m = await ch.get(this.host.names.changes, { noAck: false }); m; m = await ch.get(this.host.names.changes, { noAck: false })) {
      const change = parseChange(m.content);
      if (change) applyChange(this.snapshot.entries, change);
      waiting++;
    }
    if (waiting > 0) {
      await this.#write();
      ch.ackAll();
    }
    await ch.prefetch(100);
    await ch.consume(this.host.names.changes, (m) => this.#onChange(ch, m), { noAck: false });
  }

  #onChange(ch: Channel, m: ConsumeMessage | null): void {
    if (!m) return; // consumer cancelled by the server (queue deleted): 'close' handling does the rest
    const change = parseChange(m.content);
    if (!change) {
      this.host.log.warn({ queue: this.host.names.changes }, 'beat: dropping a malformed schedule change message');
      ch.ack(m);
      return;
    }
    applyChange(this.snapshot.entries, change);
    this.#write().then(
      () => ch.ack(m),
      () => undefined, // unacked: the next leader applies it again (set/remove are idempotent)
    );
  }

  /** Publish the snapshot as it is when its turn comes (writes are serialized, so `seq` only grows). */
  #write(): Promise<void> {
    const next = this.#writing.then(() => {
      if (this.signal.aborted) throw new LeadershipLostError('the RabbitMQ lock was lost');
      this.snapshot.seq++;
      this.snapshot.at = Date.now();
      return this.host.publishSnapshot(this.session, this.snapshot);
    });
    this.#writing = next.catch((err: unknown) => {
      this.lose(`a state write failed: ${(err as Error).message}`);
    });
    return next;
  }

  async readState(): Promise<BeatState> {
    return structuredClone(this.snapshot.state);
  }

  async writeState(state: BeatState): Promise<void> {
    this.snapshot.state = structuredClone(state);
    await this.#write();
  }

  async entries(): Promise<Map<string, StoredEntry>> {
    return new Map(Object.entries(this.snapshot.entries));
  }

  async applyEntries(set: ReadonlyMap<string, StoredEntry>, remove: readonly string[]): Promise<void> {
    for (const [name, stored] of set) this.snapshot.entries[name] = stored;
    for (const name of remove) delete this.snapshot.entries[name];
    await this.#write();
  }

  async refresh(): Promise<void> {
    void this.signal; // the connection's own 'close' is the lease here
  }

  /** Stop consuming changes and leave the election: the token goes to the next instance at once. */
  async release(): Promise<void> {
    clearInterval(this.#refresh);
    this.#ctl.abort();
    await this.#writing;
    const ch = this.#consumer;
    this.#consumer = undefined;
    if (ch) await ch.close().catch(() => {});
    await this.candidate.close();
  }
}
