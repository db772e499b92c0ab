/**
 * Random task messages for the fuzz test: headers, properties and bodies from plausible to
 * absurd, from a seeded generator so a failure can be replayed (FUZZ_SEED).
 */
import type { Headers, HeaderValue, MessageProperties, OutgoingMessage } from 'celeryts';

/** mulberry32: small, fast, good enough to pick cases. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A message for the task queue or for the pidbox exchange. */
export interface FuzzMessage {
  exchange: '' | 'celery.pidbox';
  message: OutgoingMessage;
}

const NASTY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', '__type__', '__value__', 'task', 'id', 'args', 'kwargs', '', 'x'.repeat(255)];
const CONTENT_TYPES = [
  'application/json',
  'application/json',
  'application/json',
  undefined,
  'application/x-python-serialize',
  'application/x-yaml',
  'application/x-msgpack',
  'text/plain',
  'application/data',
];
const TASKS = ['faults.echo', 'faults.echo', 'faults.echo', 'faults.strict', 'faults.nope', '', 'faults.echo.', 'x'.repeat(2000)];

/** Random values, messages and bodies from one generator. */
export class Fuzzer {
  readonly #r: () => number;
  constructor(seed: number) {
    this.#r = prng(seed);
  }

  #int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  #chance(p: number): boolean {
    return this.#r() < p;
  }
  #pick<T>(xs: readonly T[]): T {
    return xs[this.#int(xs.length)]!;
  }

  #string(max = 40): string {
    const len = this.#int(max);
    let s = '';
    for (let i = 0; i < len; i++) {
      const k = this.#int(10);
      s +=
        k < 6
          ? String.fromCharCode(97 + this.#int(26))
          : k < 7
            ? String.fromCharCode(this.#int(32))
            : k < 8
              ? '"\\\'{}[]'.charAt(this.#int(7))
              : k < 9
                ? String.fromCodePoint(0x80 + this.#int(0x2000))
                : '😀';
    }
    return s;
  }

  #number(): number {
    return this.#pick([0, -1, 1, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, 0.5, -0.0, this.#int(1000), this.#r() * 1e6]);
  }

  /** JSON-able values, nested up to `depth`. */
  json(depth = 3): unknown {
    const k = this.#int(depth > 0 ? 9 : 5);
    if (k === 0) return null;
    if (k === 1) return this.#chance(0.5);
    if (k === 2) return this.#number();
    if (k === 3 || k === 4) return this.#string();
    if (k <= 6) return Array.from({ length: this.#int(5) }, () => this.json(depth - 1));
    if (k === 7 && this.#chance(0.3)) return { __type__: this.#pick(['datetime', 'uuid', 'bytes', this.#string(8)]), __value__: this.json(depth - 1) };
    const o: Record<string, unknown> = {};
    for (let i = 0, n = this.#int(5); i < n; i++) o[this.#chance(0.3) ? this.#pick(NASTY_KEYS) : this.#string(10)] = this.json(depth - 1);
    return o;
  }

  /** Values AMQP header tables can carry. */
  #header(depth = 2): HeaderValue {
    const k = this.#int(depth > 0 ? 7 : 5);
    if (k === 0) return null;
    if (k === 1) return this.#chance(0.5);
    if (k === 2) return this.#pick([0, -1, 7, 2 ** 31 - 1, 0.25, 1e20]);
    if (k <= 4) return this.#string();
    if (k === 5) return Array.from({ length: this.#int(4) }, () => this.#header(depth - 1));
    const o: Record<string, HeaderValue> = {};
    for (let i = 0, n = this.#int(4); i < n; i++) o[this.#string(10) || 'k'] = this.#header(depth - 1);
    return o;
  }

  #date(): HeaderValue {
    const now = Date.now();
    return this.#pick<HeaderValue>([
      null,
      new Date(now - 60_000).toISOString(), // expired / due
      new Date(now + this.#int(8000)).toISOString(), // due within seconds
      'not a date',
      '2024-13-45T99:99:99',
      this.#number(),
      { __type__: 'datetime', __value__: new Date(now - 1000).toISOString() },
    ]);
  }

  #headers(): Headers {
    const shape = this.#int(10);
    if (shape === 0) return {};
    if (shape === 1) {
      const h: Headers = {};
      for (let i = 0, n = this.#int(8); i < n; i++) h[this.#chance(0.3) ? this.#pick(NASTY_KEYS) || 'k' : this.#string(12) || 'k'] = this.#header();
      return h;
    }
    const id = this.#chance(0.9) ? `fz-${this.#int(1e9)}` : (this.#header() as HeaderValue);
    const h: Headers = {
      lang: 'py',
      task: this.#chance(0.9) ? this.#pick(TASKS) : this.#header(),
      id,
      retries: this.#chance(0.8) ? this.#int(3) : this.#header(),
      timelimit: this.#chance(0.9) ? [null, null] : this.#pick<HeaderValue>([[0.05, null], [null, 0.01], this.#header(), [-1, 'x']]),
      root_id: this.#chance(0.8) ? null : this.#header(),
      parent_id: null,
      group: this.#chance(0.9) ? null : this.#header(),
      argsrepr: this.#chance(0.5) ? '()' : this.#header(),
    };
    if (this.#chance(0.3)) h['eta'] = this.#date();
    if (this.#chance(0.3)) h['expires'] = this.#date();
    if (this.#chance(0.1)) h['x-celeryts-redeliveries'] = this.#header();
    if (this.#chance(0.2)) h[this.#pick(NASTY_KEYS) || 'k'] = this.#header();
    if (this.#chance(0.1)) delete h[this.#pick(['task', 'id', 'lang', 'retries', 'timelimit'])];
    return h;
  }

  #properties(): MessageProperties {
    const p: MessageProperties = { deliveryMode: this.#chance(0.5) ? 2 : 1 };
    const ct = this.#chance(0.75) ? 'application/json' : this.#chance(0.9) ? this.#pick(CONTENT_TYPES) : this.#string(20);
    if (ct !== undefined) p.contentType = ct;
    if (this.#chance(0.7)) p.contentEncoding = this.#pick(['utf-8', 'binary', 'gzip', this.#string(8)]);
    if (this.#chance(0.3)) p.correlationId = this.#string(40);
    // Replies to queues that do not exist are dropped by RabbitMQ: the worker must not care.
    if (this.#chance(0.3)) p.replyTo = this.#string(30);
    if (this.#chance(0.2)) p.priority = this.#int(256);
    return p;
  }

  #signature(): unknown {
    if (this.#chance(0.3)) return this.json(2);
    return {
      task: this.#pick(['faults.echo', 'faults.nope', this.#string(10)]),
      args: this.#chance(0.8) ? [] : this.json(1),
      kwargs: {},
      options: this.#chance(0.8) ? {} : this.json(1),
      immutable: this.#chance(0.5),
    };
  }

  #body(maxBytes: number): Buffer {
    const k = this.#int(24);
    if (k === 0) return Buffer.from(Array.from({ length: this.#int(2000) }, () => this.#int(256)));
    if (k === 1) return Buffer.alloc(0);
    if (k === 2) return Buffer.from(JSON.stringify(this.json(4)) ?? 'null');
    if (k === 3) {
      // Deep nesting: recursion limits in the decoder, repr and result encoding.
      const depth = this.#pick([100, 5000, 50_000]);
      return Buffer.from(`[[${'['.repeat(depth)}${']'.repeat(depth)}], {}, {}]`);
    }
    if (k === 4) return Buffer.from(JSON.stringify([['y'.repeat(maxBytes + this.#int(3) - 1)], {}, {}]));
    if (k === 5) {
      // Protocol v1 bodies, good and bad.
      const v1: Record<string, unknown> = {
        task: this.#pick(TASKS),
        id: `fz1-${this.#int(1e9)}`,
        args: this.#chance(0.8) ? [] : this.json(2),
        kwargs: this.#chance(0.8) ? {} : this.json(2),
      };
      if (this.#chance(0.3)) v1['eta'] = this.#date();
      if (this.#chance(0.3)) v1['callbacks'] = this.json(2);
      if (this.#chance(0.2)) delete v1[this.#pick(['task', 'id', 'args'])];
      return Buffer.from(JSON.stringify(v1));
    }
    if (k === 6) return Buffer.from([0xff, 0xfe, 0x5b, 0x5d, 0xc3, 0x28]); // not UTF-8
    const embed = this.#chance(0.6)
      ? { callbacks: null, errbacks: null, chain: null, chord: null }
      : {
          callbacks: this.#chance(0.5) ? [this.#signature()] : this.json(1),
          errbacks: this.#chance(0.5) ? null : [this.#signature()],
          chain: this.#chance(0.7) ? null : [this.#signature()],
          chord: this.json(1),
        };
    const args = this.#chance(0.9) ? Array.from({ length: this.#int(4) }, () => this.json(3)) : this.json(3);
    const body = [args, this.#chance(0.8) ? {} : this.json(2), this.#chance(0.9) ? embed : this.json(2)];
    if (this.#chance(0.1)) body.length = this.#int(3);
    return Buffer.from(JSON.stringify(body));
  }

  #pidbox(): OutgoingMessage {
    // Never 'shutdown': that one is allowed to stop the worker.
    const method = this.#pick(['ping', 'stats', 'registered', 'active', 'reserved', 'revoke', 'rate_limit', 'enable_events', 'nope', this.#string(10)]);
    const body = this.#chance(0.2)
      ? this.json(3)
      : {
          method,
          arguments: this.json(2),
          destination: this.#chance(0.5) ? null : this.json(1),
          ticket: this.json(1),
          reply_to: this.#chance(0.5) ? { exchange: 'reply.celery.pidbox', routing_key: this.#string(10) } : this.json(1),
        };
    return { headers: this.#chance(0.5) ? {} : { expires: this.#header() }, properties: this.#properties(), body: Buffer.from(JSON.stringify(body) ?? 'null') };
  }

  /** One message: mostly for the task queue, some for the pidbox. */
  next(maxBytes: number): FuzzMessage {
    if (this.#chance(0.05)) return { exchange: 'celery.pidbox', message: this.#pidbox() };
    return { exchange: '', message: { headers: this.#headers(), properties: this.#properties(), body: this.#body(maxBytes) } };
  }
}
