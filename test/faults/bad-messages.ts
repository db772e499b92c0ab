/**
 * The bad messages of the fault suite (bad-input.test.ts on RabbitMQ, redis.test.ts on Redis):
 * each with the rejection reason `inspect stats` must count, or what happens instead.
 */
import { randomUUID } from 'node:crypto';
import { encodeTask, type Headers, type MessageProperties } from 'celeryts';

/** maxMessageBytes of the workers that get them. */
export const MAX_BYTES = 64 * 1024;
const JSON_PROPS: MessageProperties = { contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2 };

/** One bad message. */
export interface Bad {
  what: string;
  id: string;
  /** Rejection reason in inspect stats, or what happens instead. */
  expect: 'malformed' | 'content_type' | 'too_large' | 'not_registered' | 'runs' | 'fails';
  headers: Headers;
  properties: MessageProperties;
  body: Buffer;
}

/** The list; `pwned` is a path the pickle would create if it ever ran. */
export function badMessages(pwned: string): Bad[] {
  const id = (what: string) => `${what}-${randomUUID().slice(0, 8)}`;
  const v2 = (task: string, i: string): Headers => ({ lang: 'py', task, id: i, retries: 0, timelimit: [null, null], root_id: i, parent_id: null, group: null });
  const list: Bad[] = [];
  const add = (what: string, expect: Bad['expect'], make: (i: string) => Omit<Bad, 'what' | 'id' | 'expect'>) => {
    const i = id(what);
    list.push({ what, id: i, expect, ...make(i) });
  };
  add('invalid-json', 'malformed', (i) => ({ headers: v2('faults.record', i), properties: JSON_PROPS, body: Buffer.from('[["x"], {}, {') }));
  add('wrong-shape', 'malformed', (i) => ({ headers: v2('faults.record', i), properties: JSON_PROPS, body: Buffer.from('{"args": ["x"], "kwargs": {}}') }));
  add('missing-headers', 'malformed', (i) => ({ headers: { id: i }, properties: JSON_PROPS, body: Buffer.from('[["x"], {}, {}]') }));
  add('protocol-v1', 'runs', (i) => ({
    headers: {},
    properties: { ...JSON_PROPS, correlationId: i },
    body: Buffer.from(
      JSON.stringify({
        task: 'faults.record',
        id: i,
        args: [i],
        kwargs: {},
        retries: 0,
        eta: null,
        expires: null,
        utc: true,
        callbacks: null,
        errbacks: null,
        timelimit: [null, null],
        taskset: null,
        chord: null,
      }),
    ),
  }));
  add('unknown-content-type', 'content_type', (i) => ({
    headers: v2('faults.record', i),
    properties: { ...JSON_PROPS, contentType: 'application/x-celeryts-unknown' },
    body: Buffer.from('[["x"], {}, {}]'),
  }));
  add('pickle', 'content_type', (i) => ({
    headers: v2('faults.record', i),
    properties: { ...JSON_PROPS, contentType: 'application/x-python-serialize', contentEncoding: 'binary' },
    body: Buffer.from(`cos\nsystem\n(S'touch ${pwned}'\ntR.`),
  }));
  add('too-large', 'too_large', (i) => ({
    headers: v2('faults.record', i),
    properties: JSON_PROPS,
    body: Buffer.from(JSON.stringify([['x'.repeat(MAX_BYTES)], {}, {}])),
  }));
  add('unknown-task', 'not_registered', (i) => ({ headers: v2('faults.nope', i), properties: JSON_PROPS, body: Buffer.from('[[], {}, {}]') }));
  add('throwing-args', 'fails', (i) => encodeTask({ id: i, task: 'faults.strict', args: ['not a number'] }));
  return list;
}
