/**
 * The dead-letter queue's wire shape, shared by the worker (which puts refused messages there)
 * and `celeryts dlq` (which lists, shows, replays and purges them). A dead-lettered message is
 * the original, byte for byte (body, properties, headers), plus headers that say where it came
 * from and why. Pure: no broker calls here.
 */
import type { Delivery, Headers, MessageProperties, OutgoingMessage } from './broker.js';

/** The default dead-letter queue (config `deadLetterQueue`). */
export const DEFAULT_DEAD_LETTER_QUEUE = 'celeryts.dlq';

/** How many times an acks-late task started and lost its worker before this copy was published (the poison guard's count). */
export const REDELIVERIES_HEADER = 'x-celeryts-redeliveries';

/** Headers RabbitMQ adds as it dead-letters or counts (delay tiers, quorum queues): its bookkeeping, not the message's. */
const BROKER_HEADERS = new Set([
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-delivery-count',
]);

/**
 * A message's headers without the broker's bookkeeping, for a copy we publish again (a counted
 * copy, a dead-lettered one): x-death holds typed values (timestamps) that do not survive a
 * republish, and the counts are the old message's, not the copy's.
 */
export function withoutBrokerHeaders(headers: Headers): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(headers)) if (!BROKER_HEADERS.has(k)) out[k] = v;
  return out;
}

/** Headers the dead-letter queue adds; `celeryts dlq replay` strips them again. */
export const DLQ_HEADERS = {
  /** Why: 'redelivery_limit', 'not_registered', 'malformed', 'content_type', 'too_large'. */
  reason: 'x-celeryts-dlq-reason',
  /** The error message the worker logged. */
  error: 'x-celeryts-dlq-error',
  /** The queue it was consumed from: where replay puts it back. */
  queue: 'x-celeryts-dlq-queue',
  /** ISO time it was dead-lettered. */
  at: 'x-celeryts-dlq-at',
  /** The worker that dead-lettered it. */
  node: 'x-celeryts-dlq-node',
} as const;

/** Where a dead-lettered message came from and why. */
export interface DeadLetterInfo {
  reason: string;
  error: string;
  queue: string;
  node: string;
  at?: Date;
}

/**
 * The message to publish to the dead-letter queue for a refused delivery. `expiration` is
 * dropped: a per-message TTL would silently drop it from the dead-letter queue too.
 */
export function deadLetterMessage(d: Pick<Delivery, 'body' | 'headers' | 'properties'>, info: DeadLetterInfo): OutgoingMessage {
  const { expiration: _ttl, ...properties } = d.properties;
  return {
    body: d.body,
    properties: { ...properties, deliveryMode: 2 },
    headers: {
      ...withoutBrokerHeaders(d.headers),
      [DLQ_HEADERS.reason]: info.reason,
      [DLQ_HEADERS.error]: info.error,
      [DLQ_HEADERS.queue]: info.queue,
      [DLQ_HEADERS.at]: (info.at ?? new Date()).toISOString(),
      [DLQ_HEADERS.node]: info.node,
    },
  };
}

/** What `celeryts dlq` reads from a dead-lettered message's headers. */
export interface DeadLetterSummary {
  /** The task id (header `id`), or the correlation id for a message without one. */
  id: string | undefined;
  task: string | undefined;
  reason: string | undefined;
  error: string | undefined;
  queue: string | undefined;
  at: string | undefined;
  node: string | undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Read the dead-letter headers of a message. */
export function deadLetterSummary(headers: Headers, properties: MessageProperties): DeadLetterSummary {
  return {
    id: str(headers['id']) ?? str(properties.correlationId),
    task: str(headers['task']),
    reason: str(headers[DLQ_HEADERS.reason]),
    error: str(headers[DLQ_HEADERS.error]),
    queue: str(headers[DLQ_HEADERS.queue]),
    at: str(headers[DLQ_HEADERS.at]),
    node: str(headers[DLQ_HEADERS.node]),
  };
}

/**
 * The message replay publishes: the original without the dead-letter headers and without its
 * redelivery count, so the poison guard starts counting afresh (a replay is an operator's
 * decision to try again).
 */
export function replayMessage(d: Pick<Delivery, 'body' | 'headers' | 'properties'>): OutgoingMessage {
  const drop = new Set<string>([
    ...Object.values(DLQ_HEADERS),
    REDELIVERIES_HEADER,
    'x-death',
    'x-first-death-exchange',
    'x-first-death-queue',
    'x-first-death-reason',
  ]);
  const headers: Headers = {};
  for (const [k, v] of Object.entries(d.headers)) if (!drop.has(k)) headers[k] = v;
  return { body: d.body, properties: d.properties, headers };
}
