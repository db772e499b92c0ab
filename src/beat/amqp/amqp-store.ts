/**
 * Beat's store on RabbitMQ, on a connection of its own ('celeryts beat'):
 *
 *   <prefix>.leader        the election queue (amqp-candidate.ts): single-active-consumer,
 *                          every instance consumes it, the active consumer holds a token
 *                          message and leads; when its connection closes RabbitMQ hands the
 *                          token to the next consumer at once.
 *   <prefix>.state         fanout exchange the leader publishes each snapshot to (snapshot.ts),
 *                          persistent and confirmed, bound to two durable queues that keep only
 *                          the latest message (x-max-length 1):
 *   <prefix>.state.leader    read only by a leader taking over (so no reader can hide it)
 *   <prefix>.state.view      read by `beat list` and app.beat (basic.get, then requeue)
 *   <prefix>.changes       durable queue of runtime changes (set/remove) from any process,
 *                          folded into the snapshot by the leader, which acks them once written
 *
 * A dedicated connection, not the app's: the app's broker connection reconnects and redeclares
 * by itself, which must never silently re-take (or keep) the lock. This one never reconnects:
 * when it dies, leadership ends, and the next attempt opens a new connection.
 */
import type { ConfirmChannel } from 'amqplib';
import { hostname } from 'node:os';
import type { BrokerTlsFiles } from '../../transport/create-broker.js';
import { readTls } from '../../transport/create-broker.js';
import { toBrokerError } from '../../transport/amqp/amqp-errors.js';
import { connectUrl, resolveOptions, socketOptions, type AmqpTlsOptions } from '../../transport/amqp/options.js';
import { AmqpSession } from '../../transport/amqp/session.js';
import { maskUrl, splitUrlList } from '../../util/mask-url.js';
import type { BeatState } from '../plan.js';
import type { BeatLogger } from '../scheduler.js';
import type { BeatStore, Leadership, StoredEntry } from '../store.js';
import { AmqpCandidate } from './amqp-candidate.js';
import { AmqpLeadership, type LeaderHost } from './amqp-leadership.js';
import { applyChange, latestSnapshot, parseChange, peekAll, type Change, type Snapshot } from './snapshot.js';

/** How often the leader requeues its token to itself (RabbitMQ's consumer_timeout is 30 min by default). */
const TOKEN_REFRESH_MS = 5 * 60_000;

/** Connection settings taken from the app's config. */
export interface AmqpStoreSettings {
  tls: BrokerTlsFiles | undefined;
  heartbeatSeconds: number | undefined;
}

const JSON_PUBLISH = { persistent: true, contentType: 'application/json' } as const;

/** The RabbitMQ store. */
export class AmqpBeatStore implements BeatStore, LeaderHost {
  readonly description: string;
  readonly election: string;
  readonly names: { election: string; changes: string; exchange: string; leaderCopy: string; viewCopy: string };
  #session: Promise<AmqpSession> | undefined;
  /** The open session, once connected (to tell which one a loss is about). */
  #live: AmqpSession | undefined;
  #generation = 0;
  readonly #confirm = new WeakMap<AmqpSession, Promise<ConfirmChannel>>();
  readonly #leaders = new Set<AmqpLeadership>();
  #candidate: Promise<AmqpCandidate> | undefined;
  #nodeIndex = 0;
  #viewing: Promise<{ snapshot: Snapshot; pending: Change[] }> | undefined;

  constructor(
    private readonly url: string,
    prefix: string,
    private readonly settings: AmqpStoreSettings,
    readonly log: BeatLogger,
  ) {
    this.names = {
      election: `${prefix}.leader`,
      changes: `${prefix}.changes`,
      exchange: `${prefix}.state`,
      leaderCopy: `${prefix}.state.leader`,
      viewCopy: `${prefix}.state.view`,
    };
    this.description = `${maskUrl(url)} (queues ${prefix}.*)`;
    this.election = `single-active-consumer queue ${this.names.election}: the active consumer holds the token`;
  }

  #open(): Promise<AmqpSession> {
    if (!this.#session) {
      const opening = this.#connect();
      opening.catch(() => {
        if (this.#session === opening) this.#session = undefined;
      });
      this.#session = opening;
    }
    return this.#session;
  }

  async #connect(): Promise<AmqpSession> {
    const { tls, heartbeatSeconds } = this.settings;
    const options = resolveOptions({
      connectionName: `celeryts beat ${hostname()}:${process.pid}`,
      ...(tls ? { tls: readTls(tls) as AmqpTlsOptions } : {}),
      ...(heartbeatSeconds !== undefined ? { heartbeatSeconds } : {}),
      logger: this.log,
    });
    let session: AmqpSession | undefined;
    const onLost = (err: Error | undefined): void => {
      if (this.#live === session) {
        this.#live = undefined;
        this.#session = undefined;
      }
      for (const l of this.#leaders) if (l.session === session) l.lose(`the connection closed${err ? `: ${err.message}` : ''}`);
    };
    // A URL list (cluster nodes): one node per connection, the next one after each failure.
    const nodes = splitUrlList(this.url);
    const node = nodes[this.#nodeIndex % nodes.length]!;
    try {
      session = await AmqpSession.open(connectUrl(node, options), socketOptions(options), ++this.#generation, options.logger, onLost);
    } catch (err) {
      this.#nodeIndex++;
      throw toBrokerError('beat could not connect to RabbitMQ', err, node);
    }
    this.#live = session;
    const n = this.names;
    try {
      await session.admin(async (ch) => {
        await ch.assertExchange(n.exchange, 'fanout', { durable: true, autoDelete: false });
        for (const q of [n.leaderCopy, n.viewCopy]) {
          await ch.assertQueue(q, { durable: true, arguments: { 'x-max-length': 1 } });
          await ch.bindQueue(q, n.exchange, '');
        }
        await ch.assertQueue(n.changes, { durable: true });
        await ch.assertQueue(n.election, { durable: true, arguments: { 'x-single-active-consumer': true, 'x-max-length': 1 } });
      });
    } catch (err) {
      await session.close();
      this.#nodeIndex++;
      throw toBrokerError('beat could not declare its queues', err, node);
    }
    return session;
  }

  #confirmChannel(session: AmqpSession): Promise<ConfirmChannel> {
    let ch = this.#confirm.get(session);
    if (!ch) {
      ch = session.openConfirmChannel().then((c) => {
        c.on('error', () => {});
        c.on('close', () => this.#confirm.delete(session));
        return c;
      });
      ch.catch(() => this.#confirm.delete(session));
      this.#confirm.set(session, ch);
    }
    return ch;
  }

  async #publish(session: AmqpSession, exchange: string, routingKey: string, body: unknown): Promise<void> {
    const ch = await this.#confirmChannel(session);
    await new Promise<void>((resolve, reject) => {
      ch.publish(exchange, routingKey, Buffer.from(JSON.stringify(body)), JSON_PUBLISH, (err) =>
        err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
      );
    });
  }

  publishSnapshot(session: AmqpSession, snapshot: Snapshot): Promise<void> {
    return this.#publish(session, this.names.exchange, '', snapshot);
  }

  /**
   * The view copy and the changes no leader has folded in yet. One read at a time per process:
   * a message one reader holds (between its basic.get and the requeue) is invisible to another.
   */
  #view(): Promise<{ snapshot: Snapshot; pending: Change[] }> {
    if (!this.#viewing) {
      const reading = this.#readView();
      this.#viewing = reading;
      const clear = (): void => {
        if (this.#viewing === reading) this.#viewing = undefined;
      };
      reading.then(clear, clear);
    }
    return this.#viewing.then((v) => structuredClone(v));
  }

  async #readView(): Promise<{ snapshot: Snapshot; pending: Change[] }> {
    const session = await this.#open();
    const [view, changes] = await session.throwaway(async (ch) => [await peekAll(ch, this.names.viewCopy), await peekAll(ch, this.names.changes)] as const);
    const pending = changes.map(parseChange).filter((c): c is Change => c !== undefined);
    return { snapshot: latestSnapshot(view), pending };
  }

  async entries(): Promise<Map<string, StoredEntry>> {
    const { snapshot, pending } = await this.#view();
    for (const c of pending) applyChange(snapshot.entries, c);
    return new Map(Object.entries(snapshot.entries));
  }

  async setEntry(name: string, stored: StoredEntry): Promise<void> {
    const change: Change = { op: 'set', name, stored };
    await this.#publish(await this.#open(), '', this.names.changes, change);
  }

  async removeEntry(name: string): Promise<boolean> {
    const had = (await this.entries()).has(name);
    const change: Change = { op: 'remove', name };
    await this.#publish(await this.#open(), '', this.names.changes, change);
    return had;
  }

  async readState(): Promise<BeatState> {
    return (await this.#view()).snapshot.state;
  }

  /** This instance's place in the election on `session`: joined once, with a token of its own published first. */
  #candidacy(session: AmqpSession): Promise<AmqpCandidate> {
    const current = this.#candidate;
    if (current) {
      return current.then(
        (c) => (c.alive && c.session === session ? c : this.#join(session)),
        () => this.#join(session),
      );
    }
    return this.#join(session);
  }

  #join(session: AmqpSession): Promise<AmqpCandidate> {
    const joining = (async () => {
      await this.#publish(session, '', this.names.election, { token: `${hostname()}:${process.pid}`, at: Date.now() });
      return AmqpCandidate.join(session, this.names.election);
    })();
    this.#candidate = joining;
    joining.catch(() => {
      if (this.#candidate === joining) this.#candidate = undefined;
    });
    return joining;
  }

  async tryLead(): Promise<Leadership | undefined> {
    const session = await this.#open();
    const candidate = await this.#candidacy(session);
    if (!candidate.holdsToken) return undefined;
    const snapshot = latestSnapshot(await session.throwaway((ch) => peekAll(ch, this.names.leaderCopy)));
    const lead = new AmqpLeadership(this, session, candidate, snapshot, TOKEN_REFRESH_MS);
    this.#leaders.add(lead);
    lead.signal.addEventListener('abort', () => this.#leaders.delete(lead), { once: true });
    try {
      await lead.start();
    } catch (err) {
      await lead.release();
      throw err;
    }
    return lead;
  }

  async close(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    if (s) await (await s.catch(() => undefined))?.close();
  }
}
