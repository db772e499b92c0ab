/**
 * Keeping secrets off the page and out of the API. Worker replies are not ours to trust: a
 * Python worker's `inspect conf` lists its settings (Celery censors some, not all), stats may
 * carry URLs. Everything that comes from remote control passes through `scrub` before it is
 * stored: URL passwords are masked, and values under secret-sounding keys are replaced.
 */
import { MASK, maskUrl } from '../util/mask-url.js';

/** Keys whose values are secrets (Celery's conf censoring uses the same idea: API, TOKEN, KEY, SECRET, PASS, SIGNATURE). */
const SECRET_KEY = /pass(word|wd)?$|secret|token|api_?key|credential|signature|private_?key|^auth$|_auth$/i;
/** A URL with userinfo somewhere in a string (`amqp://user:pass@host`, `redis://:pass@host`). */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s'"@/]*:[^\s'"]*@[^\s'"]*/gi;

/** A deep copy of `value` with secrets masked. */
export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.includes('@') ? value.replace(URL_WITH_PASSWORD, (u) => maskUrl(u)) : value;
  if (value === null || typeof value !== 'object' || depth > 20) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== null && v !== '' && typeof v !== 'boolean' ? MASK : scrub(v, depth + 1);
  return out;
}
