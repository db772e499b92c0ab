/**
 * Celery's rpc:// backend. Each client owns one reply queue (named by its id); every task it
 * sends carries reply_to = that queue.
 *
 * Unlike Python's (auto-delete, transient), the queue is durable, not auto-delete, with an
 * expiry (x-expires, `rpcReplyQueueExpires`, default 1 h): a connection blip or a broker restart
 * would otherwise delete it, and every result a worker sent before the client came back would be
 * dropped unroutable. The broker consumes it again on reconnect; close() deletes it; a client
 * that dies leaves it to expire. If it expired anyway (an outage longer than the expiry), the
 * broker says so on reconnect and every pending wait rejects with CELERYTS_RESULT_LOST; if the
 * connection gives up for good, with CELERYTS_BROKER_GAVE_UP. Workers publish state messages there (default exchange, routing key = reply_to,
 * correlation_id = task id, transient). A result can be read once, and only by the client
 * that sent the task: another process cannot wait on it.
 */
import { randomUUID } from 'node:crypto';
import { supportedQueueOptions, type Broker, type Consumer, type Delivery, type ReconnectInfo } from '../core/broker.js';
import type { ResultBackend, ResultTarget, TaskCallRouting } from '../core/backend.js';
import { childTuples, decodeResult, encodeResult } from '../core/wire/result.js';
import type { AsyncResult } from '../core/result.js';
import { READY_STATES } from '../core/states.js';
import { ResultState, StateAsyncResult, UnavailableAsyncResult, type ResultSource } from './async-result.js';
import type { Logger } from '../logging/logger.js';
import { BrokerGaveUpError, ResultLostError } from '../core/errors.js';

/** Default life of an unused reply queue. */
export const DEFAULT_REPLY_QUEUE_EXPIRES_MS = 3_600_000;

/** rpc:// result backend over any broker. */
export class RpcBackend implements ResultBackend {
  readonly name = 'rpc';
  readonly storesById = false;
  /** This client's id and reply queue name. */
  readonly oid = randomUUID();
  #consumer: Promise<Consumer> | undefined;
  // Weak: a caller that drops its AsyncResult must not leak its entry in a long-running client.
  readonly #states = new Map<string, WeakRef<ResultState>>();
  // Strong while someone waits: see ResultState.onWait (a wait must outlive any GC until it settles).
  readonly #waited = new Map<string, ResultState>();
  readonly #gc = new FinalizationRegistry<string>((id) => {
    if (!this.#states.get(id)?.deref()) this.#states.delete(id);
  });
  readonly #source: ResultSource;
  readonly #expiresMs: number;
  /** Listening to the broker's lifecycle: only while the reply queue is in use (see #listen). */
  readonly #onReconnected = (info?: ReconnectInfo): void => {
    if (!info?.recreatedQueues.includes(this.oid)) return;
    this.#loseAll(
      (id) =>
        new ResultLostError(
          id,
          `the result of task ${id} may be lost: this client's reply queue expired while it was disconnected (rpcReplyQueueExpires ${this.#expiresMs / 1000} s), and results sent meanwhile were dropped`,
        ),
    );
  };
  readonly #onBrokerError = (err: Error): void => {
    if (err instanceof BrokerGaveUpError) this.#loseAll(() => err);
  };

  constructor(
    private readonly broker: Broker,
    private readonly log: Logger,
    revoke: ResultSource['revoke'],
    options: { replyQueueExpiresMs?: number } = {},
  ) {
    this.#expiresMs = options.replyQueueExpiresMs ?? DEFAULT_REPLY_QUEUE_EXPIRES_MS;
    this.#source = {
      // Nothing is stored: what this client was sent is all there is.
      read: async () => null,
      forget: async (id) => {
        this.#states.delete(id);
        this.#waited.delete(id);
      },
      revoke,
      handle: (id) => this.#handle(id),
    };
  }

  /** Wake every pending wait with the error `why` makes for its task id. */
  #loseAll(why: (taskId: string) => Error): void {
    let n = 0;
    for (const [id, ref] of this.#states) {
      const st = ref.deref();
      this.#states.delete(id);
      this.#waited.delete(id);
      if (!st) continue;
      st.lose(why(id));
      n++;
    }
    if (n > 0) this.log.warn({ pending: n, replyQueue: this.oid }, 'pending results can no longer arrive; their waits were rejected');
  }

  markState(target: ResultTarget, state: string, result: unknown, traceback: string | null = null): Promise<void> | undefined {
    if (!target.replyTo) return undefined; // nobody to tell (the caller ignores results)
    try {
      const msg = encodeResult({ task_id: target.id, status: state, result, traceback, children: childTuples(target.children) });
      msg.properties.correlationId = target.correlationId ?? target.id;
      return this.broker.publish('', target.replyTo, msg);
    } catch (err) {
      // A result JSON cannot encode (a BigInt, a cycle): the port's contract is a rejection.
      return Promise.reject(err);
    }
  }

  async onTaskCall(): Promise<TaskCallRouting> {
    this.#consumer ??= this.#listen();
    await this.#consumer;
    return { replyTo: this.oid };
  }

  async #listen(): Promise<Consumer> {
    // Here, not in the constructor: an app may build a backend it then discards (concurrent
    // first sends), and those must leave no listeners on the shared broker.
    this.broker.on('reconnected', this.#onReconnected);
    this.broker.on('error', this.#onBrokerError);
    // Brokers without queue expiry (file, Redis) keep an auto-delete queue: what they had before.
    const options = this.broker.capabilities.queueExpiry ? { durable: true, expiresMs: this.#expiresMs } : { durable: false, autoDelete: true };
    await this.broker.declareQueue(this.oid, supportedQueueOptions(this.broker, options));
    return this.broker.consume(this.oid, { prefetch: 0, noAck: true, background: true }, (d) => this.#onReply(d));
  }

  #onReply(d: Delivery): void {
    let body: ReturnType<typeof decodeResult>;
    try {
      body = decodeResult(d.body);
    } catch (err) {
      this.log.warn({ err, correlationId: d.properties.correlationId }, 'ignoring malformed result message');
      return;
    }
    const st = this.#states.get(body.task_id)?.deref();
    if (!st) return; // nobody waits for it any more
    st.apply({ status: body.status, result: body.result, traceback: body.traceback, children: body.children });
    if (READY_STATES.has(body.status)) {
      this.#states.delete(body.task_id);
      this.#waited.delete(body.task_id);
    }
  }

  track<R>(taskId: string): AsyncResult<R> {
    const st = new ResultState();
    st.onWait = () => this.#waited.set(taskId, st);
    st.onIdle = () => this.#waited.delete(taskId);
    this.#states.set(taskId, new WeakRef(st));
    this.#gc.register(st, taskId);
    return new StateAsyncResult<R>(taskId, st, this.#source);
  }

  #handle<R>(taskId: string): AsyncResult<R> {
    const st = this.#states.get(taskId)?.deref();
    if (st) return new StateAsyncResult<R>(taskId, st, this.#source);
    return new UnavailableAsyncResult<R>(
      taskId,
      `the rpc:// backend delivers a result only to the client that sent the task, once; task ${taskId} was not sent by this client (or its result was already taken). Use a redis:// result backend to read results by id from any process`,
      this.#source,
    );
  }

  async lookup<R>(taskId: string): Promise<AsyncResult<R>> {
    return this.#handle<R>(taskId);
  }

  async close(): Promise<void> {
    const c = this.#consumer;
    this.#consumer = undefined;
    if (!c) return;
    this.broker.off('reconnected', this.#onReconnected);
    this.broker.off('error', this.#onBrokerError);
    await (await c).cancel().catch(() => undefined);
    // Not auto-delete any more: a client that leaves cleanly removes its queue itself.
    if (this.broker.capabilities.queueExpiry) await this.broker.deleteQueue(this.oid).catch(() => undefined);
  }
}
