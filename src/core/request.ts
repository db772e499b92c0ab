import { AsyncLocalStorage } from 'node:async_hooks';
import type { Embed } from './wire/task.js';

/** One call of a task as the worker sees it. Read it through `task.request` (or `self.request` with bind). */
export interface Request {
  id: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  retries: number;
  eta: string | null;
  expires: string | null;
  rootId: string | null;
  parentId: string | null;
  group: string | null;
  groupIndex: number | null;
  replyTo: string | null;
  correlationId: string | null;
  /** [hard, soft] seconds. */
  timelimit: [number | null, number | null];
  /** Node name of the worker running it. */
  hostname: string;
  /** How the message arrived. */
  deliveryInfo: { exchange: string; routingKey: string; redelivered: boolean; priority: number | null };
  callbacks: Embed['callbacks'];
  errbacks: Embed['errbacks'];
  chain: Embed['chain'];
  ignoreResult: boolean;
  /**
   * Ids of the tasks this call sent (Celery's request.children): a task sent while this one
   * runs gets parent_id = this id and root_id = this root, and is stored as a child of this
   * result. Not filled in `pool: 'threads'` (the call runs in another thread).
   */
  readonly children: string[];
  /** Fires when the task should stop (soft time limit, revoke --terminate, shutdown). */
  signal: AbortSignal;
}

const KEY = Symbol.for('celeryts.requestContext');
const holder = globalThis as unknown as { [KEY]?: AsyncLocalStorage<Request> };

/**
 * Per-call request context. One task instance serves concurrent calls in the async pool, so the
 * request cannot live on the instance; AsyncLocalStorage gives each call its own. Kept on
 * globalThis so two copies of the package in one process still agree.
 */
export const requestContext: AsyncLocalStorage<Request> = (holder[KEY] ??= new AsyncLocalStorage<Request>());
