/**
 * Sending tasks: turn a name, arguments and Celery's apply_async options into a protocol v2
 * message and publish it to the default exchange with routing key = queue (or to the
 * exchange and routing key the call names).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ResultBackend } from '../core/backend.js';
import type { Broker } from '../core/broker.js';
import { parseIso, toPythonIso } from '../core/dates.js';
import { requestContext, type Request } from '../core/request.js';
import { encodeTask, type TaskSendSpec } from '../core/wire/task.js';
import type { AsyncResult } from '../core/result.js';
import type { SendOptions } from '../core/send-options.js';
import type { SignatureJSON } from '../core/signature.js';
import type { DeclaredQueues } from '../core/topology.js';
import { UnavailableAsyncResult, unreadableSource, type ResultSource } from '../backend/async-result.js';

/** What a producer needs to know about its app. */
export interface ProducerSettings {
  defaultQueue: string;
  ignoreResult: boolean;
  /** How a handle revokes its task (through the app's control client). */
  revoke: ResultSource['revoke'];
}

const ORIGIN = `gen${process.pid}@${hostname()}`;

function asList(v: SignatureJSON | SignatureJSON[] | undefined): SignatureJSON[] | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v : [v];
}

function toIso(v: Date | string | number, now: number): string {
  if (typeof v === 'number') return toPythonIso(new Date(now + v * 1000));
  return typeof v === 'string' ? v : toPythonIso(v);
}

/**
 * The task running in this call stack, when a send should be its child (Celery's behaviour inside
 * a task: parent_id = its id, root_id = its root). A send that names its parent itself (the
 * worker's callbacks and chains) is not a child of whatever runs.
 */
function sendingTask(o: SendOptions): Request | undefined {
  return o.parentId === undefined ? requestContext.getStore() : undefined;
}

/** Build the wire spec for one call. */
export function buildSendSpec(
  name: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  o: SendOptions,
  ignoreResult: boolean,
  parent: Request | undefined = sendingTask(o),
): TaskSendSpec {
  const now = Date.now();
  const id = o.taskId ?? randomUUID();
  let eta: string | null = null;
  if (o.eta !== undefined) eta = toIso(o.eta, now);
  else if (o.countdown !== undefined) eta = toIso(o.countdown, now);
  return {
    id,
    task: name,
    args,
    kwargs,
    eta,
    expires: o.expires === undefined ? null : toIso(o.expires, now),
    retries: o.retries ?? 0,
    timelimit: [o.timeLimit ?? null, o.softTimeLimit ?? null],
    rootId: o.rootId ?? parent?.rootId ?? parent?.id ?? id,
    parentId: o.parentId ?? parent?.id ?? null,
    group: o.group ?? null,
    groupIndex: o.groupIndex ?? null,
    shadow: o.shadow ?? null,
    origin: ORIGIN,
    ignoreResult,
    priority: o.priority ?? null,
    callbacks: asList(o.link),
    errbacks: asList(o.linkError),
    chain: o.chain ?? null,
    chord: o.chord ?? null,
  };
}

/** Publishes tasks and hands back AsyncResults. */
export class Producer {
  readonly #ignored: ResultSource;
  constructor(
    private readonly broker: Broker,
    private readonly backend: ResultBackend,
    private readonly queues: DeclaredQueues,
    private readonly settings: ProducerSettings,
  ) {
    this.#ignored = unreadableSource(settings.revoke, (id) => `results are ignored for task ${id}`);
  }

  async send<R>(name: string, args: unknown[], kwargs: Record<string, unknown>, options: SendOptions = {}): Promise<AsyncResult<R>> {
    const queue = options.queue ?? this.settings.defaultQueue;
    const ignore = options.ignoreResult ?? this.settings.ignoreResult;
    const parent = sendingTask(options);
    const spec = buildSendSpec(name, args, kwargs, options, ignore, parent);
    // A child of the running task (Celery's add_trail), listed now: a body that does not await
    // its send (fire and forget at its end) must still find it in its stored children.
    parent?.children.push(spec.id);
    // Through another exchange, its bindings decide where the task goes: declare only a queue named.
    const declare = options.exchange === undefined || options.queue !== undefined;
    // The backend says what the task must carry for its result to come back (Celery's on_task_call).
    const [routing] = await Promise.all([
      options.replyTo !== undefined ? { replyTo: options.replyTo } : ignore ? {} : this.backend.onTaskCall(),
      declare ? this.queues.ensure(queue) : undefined,
    ]);
    if (routing.replyTo) spec.replyTo = routing.replyTo;
    // Track before publishing: a fast worker's reply must find its waiter. A task sent with
    // someone else's reply_to (a retry keeping its caller) is that caller's to wait for.
    const result: AsyncResult<R> =
      !ignore && options.replyTo === undefined
        ? this.backend.track<R>(spec.id)
        : new UnavailableAsyncResult<R>(spec.id, `results are ignored for task ${spec.id} (${name})`, this.#ignored);
    const message = encodeTask(spec);
    // To a quorum queue, as Celery 5.5 does: the broker holds a countdown task (native delayed
    // delivery), since a worker cannot hold it well (quorum queues have no global QoS).
    const delayMs = spec.eta && options.exchange === undefined && this.queues.optionsOf(queue).queueType === 'quorum' ? parseIso(spec.eta) - Date.now() : 0;
    await this.broker.publish(options.exchange ?? '', options.routingKey ?? queue, message, delayMs >= 1000 ? { delayMs } : undefined);
    return result;
  }
}
