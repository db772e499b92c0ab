/**
 * Message file contents: one line of JSON (exchange, routing key, headers, properties), a
 * newline, then the body's raw bytes. JSON.stringify escapes newlines inside strings, so the
 * first 0x0A byte always ends the envelope; the body is stored as is, without base64 bloat,
 * and can be sliced out of the read buffer without a copy.
 */
import { BrokerError } from '../../core/errors.js';
import type { Headers, MessageProperties } from '../../core/broker.js';

import type { StoredMessage } from '../virtual/driver.js';

/** A message as stored in a file (the virtual layer's shape). */
export type { StoredMessage };

interface Envelope {
  v: 1;
  exchange: string;
  routingKey: string;
  headers: Headers;
  properties: MessageProperties;
}

const NEWLINE = 0x0a;

/** Serialize a message to the bytes of its file. */
export function encodeMessage(m: StoredMessage): Buffer {
  const envelope: Envelope = { v: 1, exchange: m.exchange, routingKey: m.routingKey, headers: m.headers, properties: m.properties };
  return Buffer.concat([Buffer.from(`${JSON.stringify(envelope)}\n`), m.body]);
}

/** Parse a message file; throws BrokerError naming `where` if it is not one. */
export function decodeMessage(bytes: Buffer, where: string): StoredMessage {
  const nl = bytes.indexOf(NEWLINE);
  if (nl < 0) throw new BrokerError(`Corrupt message file ${where}: no envelope line`);
  let env: Partial<Envelope>;
  try {
    env = JSON.parse(bytes.subarray(0, nl).toString('utf8')) as Partial<Envelope>;
  } catch (err) {
    throw new BrokerError(`Corrupt message file ${where}: bad envelope JSON`, { cause: err });
  }
  if (env.v !== 1 || typeof env.exchange !== 'string' || typeof env.routingKey !== 'string') {
    throw new BrokerError(`Corrupt message file ${where}: unknown envelope version or shape`);
  }
  return {
    exchange: env.exchange,
    routingKey: env.routingKey,
    headers: env.headers ?? {},
    properties: env.properties ?? {},
    body: bytes.subarray(nl + 1),
  };
}
