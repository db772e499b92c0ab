/**
 * Pipelined publishing with publisher confirms.
 *
 * Every publish is written at once (no await between messages) and gets the next sequence
 * number of its confirm channel; the broker's basic.ack / basic.nack (often `multiple`)
 * settles them by sequence number. So thousands of publishes share a handful of round trips.
 *
 *   caller --publish--> waiting --(channel writable)--> in flight --ack--> resolved
 *                          ^                               |  \--nack--> rejected
 *                          +---- channel lost (resend) ----+
 *
 * Backpressure: when amqplib's `publish` returns false its write buffer is full; later
 * publishes wait in `waiting` until the channel emits 'drain'. Without a channel
 * (disconnected), publishes wait in `waiting` too, up to `maxBuffered`.
 *
 * Delivery guarantee when the channel dies before confirming (the choice the port leaves open):
 * - the connection was lost: the server may or may not have routed them, so they are sent
 *   again on the next channel, in their original order: AT-LEAST-ONCE. Celery consumers
 *   already tolerate duplicates (task ids, acks_late redeliveries); a lost task is worse.
 * - the server closed the channel because of a publish (404 no such exchange, 403 access
 *   refused, 406 message too large...): resending the culprit would close every new channel
 *   the same way. When the error names an exchange, publishes to that exchange are rejected
 *   with the server's reason and the others are resent; otherwise every unconfirmed publish
 *   is rejected (we cannot tell which one was at fault, and the caller can retry).
 *
 * A nack: the publishing channel is replaced and the nacked publishes are sent once more on the
 * new one (a second nack rejects them). Why: on a RabbitMQ cluster, a channel that published to
 * a quorum queue while its leader was being re-elected (just after a failover) goes on nacking
 * every later publish to it, while a fresh channel on the same connection is acked at once
 * (seen on 3.10 in test/faults/cluster.suite.ts). A queue that really refuses (overflow
 * reject-publish, full) still ends in a rejection, after one retry.
 */
import type { ConfirmChannel, Options } from 'amqplib';
import { BrokerError } from '../../core/errors.js';
import { errorMessage, replyCode } from './amqp-errors.js';
import { Deque } from '../../util/deque.js';

interface PendingPublish {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  /** Sequence number on the channel it was written to. */
  seq: number;
  settled: boolean;
  /** Nacked once already: the next nack rejects it. */
  nacked?: boolean;
}

/** The publisher's view of the world outside it. */
export interface PublisherHooks {
  /** The server closed the channel (connection still up): attach a new one when you can. */
  channelFailed(err: Error): void;
}

/** The publish pipeline of one broker; survives channels, attached to one at a time. */
export class ConfirmPublisher {
  readonly #maxBuffered: number;
  readonly #hooks: PublisherHooks;
  readonly #waiting = new Deque<PendingPublish>();
  /** Written, not yet confirmed, in sequence order (settled entries leave from the head). */
  readonly #inFlight = new Deque<PendingPublish>();
  #channel: ConfirmChannel | undefined;
  #unlisten: (() => void) | undefined;
  #nextSeq = 1;
  #writable = true;
  #closedWith: Error | undefined;
  #idleWaiters: Array<() => void> = [];

  /** `maxBuffered` bounds publishes queued while no channel is attached. */
  constructor(maxBuffered: number, hooks: PublisherHooks) {
    this.#maxBuffered = maxBuffered;
    this.#hooks = hooks;
  }

  /** True while a confirm channel is attached. */
  get attached(): boolean {
    return this.#channel !== undefined;
  }

  /** Publishes not yet confirmed (waiting or in flight). */
  get pending(): number {
    return this.#waiting.length + this.#inFlight.length;
  }

  /** Publish; resolves when the broker confirms, rejects on nack or when given up. */
  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<void> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    if (!this.#channel && this.#waiting.length >= this.#maxBuffered) {
      return Promise.reject(new BrokerError(`publish refused: ${this.#waiting.length} publishes are already waiting for the broker connection to come back`));
    }
    return new Promise<void>((resolve, reject) => {
      const p: PendingPublish = { exchange, routingKey, content, options, resolve, reject, seq: 0, settled: false };
      // Keep order: a new publish may only overtake nothing.
      if (this.#channel && this.#writable && this.#waiting.length === 0) this.#write(p);
      else this.#waiting.push(p);
    });
  }

  /** Start publishing on a fresh confirm channel (after connecting, or after a channel failure). */
  attach(channel: ConfirmChannel): void {
    this.#unlisten?.();
    this.#channel = channel;
    this.#nextSeq = 1; // confirm sequence numbers are per channel and start at 1
    this.#writable = true;
    let serverError: Error | undefined;
    const onAck = (f: { deliveryTag: number; multiple: boolean }): void => this.#confirm(f.deliveryTag, f.multiple, false);
    const onNack = (f: { deliveryTag: number; multiple: boolean }): void => this.#confirm(f.deliveryTag, f.multiple, true);
    const onDrain = (): void => {
      this.#writable = true;
      this.#pump();
    };
    // A channel closed by the server emits 'error' (with the reply code) before 'close'; a
    // channel closed because its connection died emits only 'close'.
    const onError = (err: Error): void => {
      serverError = err;
    };
    const onClose = (): void => {
      if (this.#channel === channel) this.#detach(serverError);
    };
    channel.on('ack', onAck);
    channel.on('nack', onNack);
    channel.on('drain', onDrain);
    channel.on('error', onError);
    channel.on('close', onClose);
    this.#unlisten = () => {
      channel.off('ack', onAck);
      channel.off('nack', onNack);
      channel.off('drain', onDrain);
      channel.off('close', onClose);
      // 'error' stays: an unlistened 'error' would throw out of amqplib.
    };
    this.#pump();
  }

  /** Resolves true once nothing is waiting or in flight, false after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.#idleWaiters.push(done);
    });
  }

  /** Reject the publishes that were never written (the first connection attempt failed). */
  rejectWaiting(err: Error): void {
    for (const p of this.#waiting.drain()) this.#settle(p, err);
    this.#checkIdle();
  }

  /** Stop for good: reject everything unconfirmed and every later publish with `err`. */
  close(err: Error): void {
    this.#closedWith = err;
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#channel = undefined;
    for (const p of [...this.#inFlight.drain(), ...this.#waiting.drain()]) this.#settle(p, err);
    this.#checkIdle();
  }

  /** Write one publish; false when the caller should stop writing (buffer full, channel closing). */
  #write(p: PendingPublish): boolean {
    const channel = this.#channel;
    if (!channel) {
      this.#waiting.unshiftAll([p]);
      return false;
    }
    let accepted: boolean;
    try {
      // No callback: confirms are matched by sequence number in #confirm, which also handles
      // the channel dying (amqplib would call every callback with a bare 'channel closed').
      accepted = channel.publish(p.exchange, p.routingKey, p.content, p.options);
    } catch (err) {
      if (err instanceof Error && err.name === 'IllegalOperationError') {
        // The channel is closing; its 'close' will detach it and this publish goes out again.
        this.#waiting.unshiftAll([p]);
        return false;
      }
      // This message cannot be encoded (headers table over 64 KiB, not a Buffer...): nothing
      // was written and no sequence number was used.
      this.#settle(p, new BrokerError(`cannot publish to exchange '${p.exchange}': ${errorMessage(err)}`, { cause: err }));
      return true;
    }
    p.seq = this.#nextSeq++;
    this.#inFlight.push(p);
    if (!accepted) this.#writable = false;
    return accepted;
  }

  #pump(): void {
    while (this.#channel && this.#writable && this.#waiting.length > 0) {
      const p = this.#waiting.shift();
      if (p && !this.#write(p)) break;
    }
    this.#checkIdle();
  }

  #confirm(tag: number, multiple: boolean, nacked: boolean): void {
    if (nacked) return this.#swapAfterNack(tag, multiple);
    const settle = (p: PendingPublish): void =>
      this.#settle(p, nacked ? new BrokerError(`the broker did not accept the message for exchange '${p.exchange}' (basic.nack)`) : undefined);
    if (multiple) {
      for (let head = this.#inFlight.at(0); head && head.seq <= tag; head = this.#inFlight.at(0)) {
        this.#inFlight.shift();
        if (!head.settled) settle(head);
      }
    } else {
      const first = this.#inFlight.at(0);
      const p = first && this.#inFlight.at(tag - first.seq);
      if (p && p.seq === tag && !p.settled) settle(p);
      for (let head = this.#inFlight.at(0); head?.settled; head = this.#inFlight.at(0)) this.#inFlight.shift();
    }
    this.#checkIdle();
  }

  /** See the file comment: drop the nacking channel, resend what it held, ask for a new one. */
  #swapAfterNack(tag: number, multiple: boolean): void {
    const channel = this.#channel;
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#channel = undefined;
    const resend: PendingPublish[] = [];
    for (const p of this.#inFlight.drain()) {
      if (p.settled) continue;
      const wasNacked = multiple ? p.seq <= tag : p.seq === tag;
      if (!wasNacked) resend.push(p);
      else if (p.nacked) this.#settle(p, new BrokerError(`the broker did not accept the message for exchange '${p.exchange}' (basic.nack, twice)`));
      else {
        p.nacked = true;
        resend.push(p);
      }
    }
    this.#waiting.unshiftAll(resend);
    channel?.close().catch(() => {});
    this.#hooks.channelFailed(new BrokerError('the broker nacked a publish'));
    this.#checkIdle();
  }

  #detach(serverError: Error | undefined): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#channel = undefined;
    const unconfirmed = this.#inFlight.drain().filter((p) => !p.settled);
    if (serverError === undefined) {
      // Connection lost: resend on the next channel, ahead of everything that waited.
      this.#waiting.unshiftAll(unconfirmed);
    } else {
      const culprit = blamedExchange(serverError);
      const refusal = new BrokerError(`the broker refused a publish: ${errorMessage(serverError)}`, { cause: serverError });
      const resend: PendingPublish[] = [];
      for (const p of unconfirmed) {
        if (culprit === undefined || p.exchange === culprit) this.#settle(p, refusal);
        else resend.push(p);
      }
      this.#waiting.unshiftAll(resend);
      this.#hooks.channelFailed(serverError);
    }
    this.#checkIdle();
  }

  #settle(p: PendingPublish, err: Error | undefined): void {
    if (p.settled) return;
    p.settled = true;
    if (err) p.reject(err);
    else p.resolve();
  }

  #checkIdle(): void {
    if (this.pending !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * The exchange a channel error blames, when the server named one: "NOT_FOUND - no exchange
 * 'x' in vhost '/'", "ACCESS_REFUSED - access to exchange 'x' in vhost '/' refused for user".
 */
function blamedExchange(err: Error): string | undefined {
  const code = replyCode(err);
  if (code !== 404 && code !== 403) return undefined;
  return /exchange '(.*?)' in vhost '/.exec(err.message)?.[1];
}
