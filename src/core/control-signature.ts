/**
 * Signed remote control (config `controlSecret`): anyone who can publish to the vhost can
 * otherwise shut workers down or make them consume other apps' queues. A signed request carries
 *
 *   x-celeryts-signed-at   unix seconds when it was signed
 *   x-celeryts-signature   hex HMAC-SHA256(secret, "<signed-at>.<body bytes>")
 *
 * A worker with the secret answers only requests whose signature matches and whose time is
 * within the window (either side, for clock skew), and never the same signature twice within
 * it (a captured request cannot be replayed). Python Celery clients cannot sign: with a secret
 * set, only celeryts clients (CLI, dashboard, app.control()) are obeyed. Pure: no I/O.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Headers } from './broker.js';

/** Header carrying the signature. */
export const SIGNATURE_HEADER = 'x-celeryts-signature';
/** Header carrying the signing time (unix seconds). */
export const SIGNED_AT_HEADER = 'x-celeryts-signed-at';

function hmac(secret: string, signedAt: number, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${signedAt}.`).update(body).digest();
}

/** The headers that sign `body` at `nowMs`. */
export function signControl(body: Buffer, secret: string, nowMs = Date.now()): Headers {
  const signedAt = Math.floor(nowMs / 1000);
  return { [SIGNED_AT_HEADER]: signedAt, [SIGNATURE_HEADER]: hmac(secret, signedAt, body).toString('hex') };
}

/** A verified request's signature (to refuse it a second time), or why it was refused. */
export type ControlVerdict = { ok: true; signature: string } | { ok: false; why: string };

/** Check a request's signature and age; see the file comment. */
export function verifyControl(headers: Headers, body: Buffer, secret: string, windowSeconds: number, nowMs = Date.now()): ControlVerdict {
  const signedAt = headers[SIGNED_AT_HEADER];
  const signature = headers[SIGNATURE_HEADER];
  if (typeof signature !== 'string' || typeof signedAt !== 'number' || !Number.isInteger(signedAt)) return { ok: false, why: 'unsigned' };
  if (Math.abs(nowMs / 1000 - signedAt) > windowSeconds)
    return { ok: false, why: `signed ${Math.round(nowMs / 1000 - signedAt)}s ago, outside the ${windowSeconds}s window` };
  const given = Buffer.from(signature, 'hex');
  const expected = hmac(secret, signedAt, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, why: 'bad signature' };
  return { ok: true, signature };
}
