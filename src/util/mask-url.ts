/**
 * Hiding credentials in broker URLs. A URL is the one place a password travels through
 * configuration, logs, errors and events, so every string that may contain it goes through here.
 */

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** What `maskUrl` puts where the password was. */
export const MASK = '****';

interface Userinfo {
  /** Everything before the password: scheme, `//` and user name with its `:`. */
  readonly before: string;
  /** The password exactly as written in the URL (maybe percent-encoded). */
  readonly password: string;
  /** Everything from the `@` that ends the userinfo. */
  readonly after: string;
}

/**
 * Split a URL around its password, for any scheme (amqp, amqps, redis, sqs, file...) and
 * without a scheme (`user:pass@host`). Undefined when there is no password.
 *
 * A valid URL's userinfo ends at the last `@` before the first `/`, `?` or `#`. Real
 * configurations are not always valid: passwords often hold an unencoded `@`, `/`, `?` or
 * `#` (cloud secret keys, generated passwords), which moves an `@` past that boundary, and
 * then only the last `@` of the whole URL ends the password. Leaking part of a password is
 * worse than masking too much, so the last `@` always wins: a URL whose path or query also
 * holds an `@` after a `user:password@` (rare) is over-masked, which is harmless.
 */
function splitUserinfo(url: string): Userinfo | undefined {
  const scheme = SCHEME.exec(url)?.[0] ?? '';
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at < 0) return undefined;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return undefined;
  return { before: scheme + userinfo.slice(0, colon + 1), password: userinfo.slice(colon + 1), after: rest.slice(at) };
}

/**
 * The URLs of a broker URL list, as Celery writes it: `amqp://h1//;amqp://h2//` (a password
 * holding `;` must be percent-encoded, as in Celery). A single URL gives a list of one.
 */
export function splitUrlList(url: string): string[] {
  const parts = url
    .split(';')
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
  // Every part must start with a scheme: otherwise the `;` is inside one URL (an unencoded
  // password), and splitting there would show part of the password.
  return parts.length > 1 && parts.every((p) => SCHEME.test(p)) ? parts : [url];
}

/**
 * The URL with its password replaced by `****` (the user name stays: it helps debugging and is
 * not a secret). URLs without a password are returned unchanged. A URL list is masked URL by URL.
 */
export function maskUrl(url: string): string {
  return splitUrlList(url).map(maskOne).join(';');
}

function maskOne(url: string): string {
  const parts = splitUserinfo(url);
  return parts ? parts.before + MASK + parts.after : url;
}

/**
 * Remove the URL's password, raw and percent-decoded, from any text (error messages from
 * libraries and servers we do not control). Belt and braces: amqplib does not echo passwords
 * today, but an error message is the last place a secret should be able to slip out.
 */
export function redactPassword(text: string, url: string): string {
  return splitUrlList(url).reduce((out, one) => redactOne(out, one), text);
}

function redactOne(text: string, url: string): string {
  const password = splitUserinfo(url)?.password;
  if (!password) return text;
  let out = text.split(password).join(MASK);
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // A malformed escape: the raw form was already removed, nothing else to match.
  }
  if (decoded && decoded !== password) out = out.split(decoded).join(MASK);
  return out;
}

/** Things in free text that look like URLs: a scheme, `://`, then up to a space or a quote. */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]+/gi;

/**
 * Every URL in `text` with its password masked (messages that quote a value the user gave,
 * such as a config error about a mistyped scheme: `ampq://user:S3cret@host`).
 */
export function maskUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => maskUrl(url));
}

/** A configured result backend as banners show it: rpc://, disabled://, or the URL with its password masked. */
export function resultsDisplay(backend: string): string {
  if (backend === 'rpc') return 'rpc://';
  if (backend === 'none') return 'disabled://';
  return maskUrl(backend);
}
