/**
 * task-sent, as a Python client publishes it with task_send_sent_event: one event alone
 * (routing key task.sent) from `gen<pid>@<host>`, after the task message. Used by
 * `celeryts call --send-event`.
 */
import type { Broker } from '../core/broker.js';
import { encodeTask } from '../core/wire/task.js';
import type { SendOptions } from '../core/send-options.js';
import type { Logger } from '../logging/logger.js';
import { EventDispatcher } from './event-dispatcher.js';
import { buildSendSpec } from './producer.js';

/** A task-sent event ready to publish, and the send options that make the message match it. */
export interface PreparedTaskSent {
  /** The caller's options with id, eta and expires fixed, so message and event agree exactly. */
  options: SendOptions;
  fields: Record<string, unknown>;
}

/** Fix the id and times of a call and build its task-sent fields (uuid, name, reprs, route...). */
export function prepareTaskSent(name: string, args: unknown[], kwargs: Record<string, unknown>, options: SendOptions, defaultQueue: string): PreparedTaskSent {
  const spec = buildSendSpec(name, args, kwargs, options, false);
  const { countdown: _countdown, ...rest } = options;
  const pinned: SendOptions = { ...rest, taskId: spec.id, ...(spec.eta ? { eta: spec.eta } : {}), ...(spec.expires ? { expires: spec.expires } : {}) };
  const { headers } = encodeTask(spec);
  const queue = options.queue ?? defaultQueue;
  return {
    options: pinned,
    fields: {
      uuid: spec.id,
      root_id: spec.rootId ?? spec.id,
      parent_id: spec.parentId ?? null,
      name,
      args: headers['argsrepr'],
      kwargs: headers['kwargsrepr'],
      retries: spec.retries ?? 0,
      eta: spec.eta ?? null,
      expires: spec.expires ?? null,
      queue,
      exchange: options.exchange ?? '',
      routing_key: options.routingKey ?? queue,
    },
  };
}

/** Publish a prepared task-sent event and wait (bounded) until the broker has it. */
export async function publishTaskSent(broker: Broker, prepared: PreparedTaskSent, log?: Logger): Promise<void> {
  const dispatcher = new EventDispatcher(broker, { log });
  if (!(await dispatcher.start())) return;
  dispatcher.publish('task-sent', prepared.fields);
  await dispatcher.close();
}
