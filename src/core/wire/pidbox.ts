/**
 * Remote control (pidbox) on the wire, as kombu's Mailbox sends it (test/fixtures/protocol/pidbox.json):
 *
 *   request  { method, arguments, destination, pattern, matcher, ticket?, reply_to? } on the
 *            `celery.pidbox` fanout; headers { clock, expires (epoch seconds) }
 *   reply    { "<node>": answer } on `reply.celery.pidbox` with routing key = the client's id;
 *            headers { ticket, clock }
 *
 * The client (src/client/control.ts) and the worker (src/worker/control.ts) both read and write
 * these shapes from here.
 */

/** Where a worker sends its reply. */
export interface PidboxReplyTo {
  exchange: string;
  routing_key: string;
}

/** A request as a worker reads it. */
export interface PidboxRequest {
  method: string;
  arguments: Record<string, unknown>;
  destination: string[] | null;
  ticket?: string;
  reply_to?: PidboxReplyTo;
}

/** A request body as kombu writes it (pattern and matcher unused: null). */
export function encodePidboxRequest(req: PidboxRequest): Buffer {
  const { method, arguments: args, destination, ticket, reply_to } = req;
  return Buffer.from(
    JSON.stringify({ method, arguments: args, destination, pattern: null, matcher: null, ...(ticket && reply_to ? { ticket, reply_to } : {}) }),
  );
}

/** Read a request body; undefined for anything that is not one (never throws). */
export function parsePidboxRequest(body: Buffer): PidboxRequest | undefined {
  try {
    const b = JSON.parse(body.toString('utf8')) as Partial<PidboxRequest>;
    if (!b || typeof b.method !== 'string') return undefined;
    return {
      method: b.method,
      arguments: b.arguments && typeof b.arguments === 'object' ? b.arguments : {},
      destination: Array.isArray(b.destination) ? b.destination : null,
      ...(typeof b.ticket === 'string' ? { ticket: b.ticket } : {}),
      ...(b.reply_to && typeof b.reply_to.routing_key === 'string' ? { reply_to: b.reply_to } : {}),
    };
  } catch {
    return undefined;
  }
}

/** A reply body: `{ "<node>": answer }`. */
export function encodePidboxReply(node: string, answer: unknown): Buffer {
  return Buffer.from(JSON.stringify({ [node]: answer }));
}

/** Read a reply body into [node, answer] pairs; [] for anything else (never throws). */
export function parsePidboxReply(body: Buffer): [string, unknown][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return [];
  }
  return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.entries(parsed) : [];
}

/** The properties of every pidbox message (requests persistent as kombu sends them, replies transient). */
export function pidboxProperties(deliveryMode: 1 | 2) {
  return { contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode, priority: 0 } as const;
}
