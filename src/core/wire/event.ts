/**
 * Celery's monitoring events on the wire (test/fixtures/protocol/events.json), for the
 * dispatcher that sends them and the receiver that reads them:
 *
 *   body        { hostname, utcoffset, pid, clock, ...fields, timestamp, type }
 *   routing key type with '-' -> '.' (worker.heartbeat); a batch of one group goes as a list
 *               to '<group>.multi' (task.multi)
 *   headers     { hostname }; JSON, utf-8, delivery mode 1 (transient), priority 0
 */

/** One event as it travels: a flat JSON object with at least `type`. */
export type CeleryEvent = Record<string, unknown> & { type: string };

/** Celery's utcoffset(): hours *west* of UTC (time.timezone // 3600), floored as Python does. */
export function utcoffset(now = new Date()): number {
  return Math.floor(now.getTimezoneOffset() / 60);
}

/** Seconds since the epoch with sub-millisecond precision, like Python's time.time(). */
export function nowSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

/** A Lamport clock: every event moves it forward; received clocks pull it ahead. */
export class LamportClock {
  #value = 0;
  get value(): number {
    return this.#value;
  }
  forward(): number {
    return ++this.#value;
  }
  adjust(other: number): number {
    this.#value = Math.max(this.#value, other) + 1;
    return this.#value;
  }
}

/** The properties every event message has. */
export const EVENT_PROPERTIES = { contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 1, priority: 0 } as const;

/** JSON as Python writes it for the fields Celery sends as floats (freq 2.0, not 2). */
export function encodeEvent(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body).replace(/"freq":(-?\d+)(?=[,}])/g, '"freq":$1.0'));
}

/** The routing key of one event sent alone: its type with '-' -> '.' (worker.heartbeat). */
export function eventRoutingKey(type: string): string {
  return type.replace(/-/g, '.');
}
