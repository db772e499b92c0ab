/**
 * Who may use the dashboard. With neither basic auth nor a token configured, anyone who can
 * reach the port may (so it binds to 127.0.0.1 unless told otherwise, and refuses to bind
 * elsewhere without one). With either configured, every request must carry:
 *   - `Authorization: Basic ...` matching one of the user:password pairs (Flower's --basic_auth),
 *   - `Authorization: Bearer <token>`, or `?token=<token>` on a page load (then a cookie), or
 *   - the session cookie the dashboard set after one of the above succeeded.
 * EventSource cannot send headers, hence the cookie: HttpOnly, SameSite=Strict, valid until the
 * dashboard restarts (its key is random per process).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The auth settings. */
export interface AuthOptions {
  /** Accepted `user:password` pairs. */
  basicAuth?: readonly string[] | undefined;
  /** Accepted bearer token. */
  token?: string | undefined;
}

/** Name of the session cookie. */
export const SESSION_COOKIE = 'celeryts_dashboard';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
/** Compare secrets in constant time (digests make the lengths equal). */
const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** Parse a Cookie header. */
export function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Checks requests against the configured credentials. */
export class Auth {
  readonly #basic: readonly string[];
  readonly #token: string | undefined;
  readonly #session: string;

  constructor(options: AuthOptions = {}) {
    this.#basic = options.basicAuth ?? [];
    this.#token = options.token || undefined;
    this.#session = createHmac('sha256', randomBytes(32)).update('session').digest('base64url');
  }

  /** True when credentials are configured at all. */
  get enabled(): boolean {
    return this.#basic.length > 0 || this.#token !== undefined;
  }

  /** Basic auth is configured (the browser's own prompt then handles login). */
  get basic(): boolean {
    return this.#basic.length > 0;
  }

  /** The token, if any, checked against `candidate`. */
  tokenMatches(candidate: string | null | undefined): boolean {
    return this.#token !== undefined && typeof candidate === 'string' && same(candidate, this.#token);
  }

  /** Does this request carry valid credentials (header or session cookie)? */
  check(req: IncomingMessage): boolean {
    if (!this.enabled) return true;
    const header = req.headers.authorization ?? '';
    const [scheme, value = ''] = header.split(/\s+/, 2);
    if (scheme?.toLowerCase() === 'bearer' && this.tokenMatches(value)) return true;
    if (scheme?.toLowerCase() === 'basic') {
      const pair = Buffer.from(value, 'base64').toString('utf8');
      // Compare with every pair, so timing does not tell which user exists.
      if (this.#basic.map((b) => same(pair, b)).includes(true)) return true;
    }
    const session = cookies(req)[SESSION_COOKIE];
    return session !== undefined && same(session, this.#session);
  }

  /** A Set-Cookie value that authenticates this browser from now on. */
  sessionCookie(): string {
    return `${SESSION_COOKIE}=${this.#session}; HttpOnly; SameSite=Strict; Path=/`;
  }
}
