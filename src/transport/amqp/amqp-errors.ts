/**
 * Reading amqplib's errors: which are the server refusing us for good, which name a reply
 * code, and how to turn any of them into a BrokerError that is safe to log.
 */
import { BrokerError } from '../../core/errors.js';
import { maskUrl, redactPassword } from '../../util/mask-url.js';

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The AMQP reply code (404 NOT_FOUND, 406 PRECONDITION_FAILED, 320 CONNECTION_FORCED...) that
 * amqplib puts on errors caused by a server close. Node socket errors carry string codes
 * ('ECONNRESET'), and "channel ended" errors carry none: both give undefined.
 */
export function replyCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * True when a connection attempt failed in a way retrying cannot fix: wrong credentials
 * (403 ACCESS_REFUSED during the handshake), a vhost that does not exist or is not allowed
 * (the server answers connection.open with connection.close), an unsupported SASL mechanism.
 * amqplib reports these as plain Errors without a code, so the message is all there is.
 */
export function isPermanentConnectFailure(err: unknown): boolean {
  const message = errorMessage(err);
  return (
    /Handshake terminated by server: (403|530)\b/.test(message) ||
    /Expected ConnectionOpenOk; got <ConnectionClose/.test(message) ||
    /SASL mechanism .* is not provided/.test(message)
  );
}

/** A human explanation of a failed connection attempt (no secrets). */
export function describeConnectFailure(err: unknown): string {
  const message = errorMessage(err);
  if (/Handshake terminated by server: 403\b/.test(message)) return 'access refused: wrong user name or password (ACCESS_REFUSED)';
  if (/Expected ConnectionOpenOk; got <ConnectionClose/.test(message)) {
    return 'the server refused to open the virtual host: it does not exist or the user may not access it';
  }
  return message;
}

/**
 * A BrokerError whose message names the broker by its masked URL. The cause is attached only
 * when its own message is free of the password, so logging the whole error chain stays safe.
 */
export function toBrokerError(what: string, err: unknown, url: string): BrokerError {
  const detail = redactPassword(describeConnectFailure(err), url);
  const message = `${what} (${maskUrl(url)}): ${detail}`;
  const causeIsSafe = err instanceof Error && redactPassword(err.message, url) === err.message && !/:\/\/[^/]*@/.test(err.message);
  return causeIsSafe ? new BrokerError(message, { cause: err }) : new BrokerError(message);
}
