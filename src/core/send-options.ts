import type { SignatureJSON } from './signature.js';

/** Options for applyAsync / sendTask, named after Celery's apply_async keywords. */
export interface SendOptions {
  /** Task id; a fresh UUID by default. */
  taskId?: string;
  /** Queue (routing key on the default exchange). */
  queue?: string;
  /** Exchange to publish to (apply_async's `exchange`); default: the default exchange, routed by queue name. */
  exchange?: string;
  /** Routing key (apply_async's `routing_key`); default: the queue name. */
  routingKey?: string;
  /** Run no earlier than this many seconds from now. */
  countdown?: number;
  /** Run no earlier than this time. */
  eta?: Date | string;
  /** Do not run after this time (a Date, an ISO string, or seconds from now). */
  expires?: Date | string | number;
  priority?: number;
  /** Do not send a result back for this call. */
  ignoreResult?: boolean;
  /** [hard, soft] time limits in seconds. */
  timeLimit?: number;
  softTimeLimit?: number;
  /** Callbacks run with this task's result. */
  link?: SignatureJSON | SignatureJSON[];
  /** Callbacks run with the failed task's id. */
  linkError?: SignatureJSON | SignatureJSON[];
  /** Remaining chain, reversed (the next task last), as Celery stores it. */
  chain?: SignatureJSON[];
  /** The chord body this task (a header member, with `group`) counts towards. */
  chord?: SignatureJSON;
  retries?: number;
  rootId?: string;
  parentId?: string;
  group?: string;
  groupIndex?: number;
  shadow?: string;
  /** Override reply_to (rpc reply queue); normally the sending client's own queue. */
  replyTo?: string;
}
