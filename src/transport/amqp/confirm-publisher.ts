/**
 * Pipelined publishing with publisher confirms.
 *
 * Every publish is written at once (no await between messages) and gets the next sequence
 * number of its confirm channel; the broker's basic.ack / basic.nack (often `multiple`)
 * settles them by sequence number. So thousands of publishes share a handful of round trips.
 *
 *   caller --publish--> waiting --(channel writable)--> in flight --ack--> resolved
 *                          ^                               |  \--second nack--> rejected
 *                          +----------- resend ------------+
 *                  (channel lost or closed, first nack, nack grace over: see below)
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
 * A nack: nothing more is written to the nacking channel and a new one is asked for at once
 * (hooks.channelFailed); the nacked publishes are sent once more on the new one (a second nack
 * rejects them). Why: on a RabbitMQ cluster, a channel that published to a quorum queue while its leader
 * was being re-elected (just after a failover) goes on nacking every later publish to it, while a
 * fresh channel on the same connection is acked at once (seen on 3.10 in
 * test/faults/cluster.suite.ts). A queue that really refuses (overflow reject-publish, full)
 * still ends in a rejection, after one retry.
 * The nacking channel is not closed at once: it is still listened to, for up to `nackGraceMs`
 * (2 s) or until nothing is in flight on it. What it acks is resolved, what it nacks is sent once
 * more as above, and only what is still unconfirmed at the end (or when it closes) is sent again
 * (at-least-once). Why: closing it at once meant resending everything in flight on it (up to a
 * whole pipelined batch), though most of it had been enqueued and only its acks were on their
 * way: each of those would become a duplicate task. (The duplicates the cluster soak measures
 * come from the other path, a lost connection, where the confirms are gone and resending is
 * the only safe choice: BENCHMARKS.md.)
 * So the new channel may be written to while the old one drains. Confirm tags are per channel:
 * each channel (a Lane) keeps its own in-flight list and sequence numbers.
 */
import type { ConfirmChannel, Options } from 'amqplib';
import { BrokerError } from '../../core/errors.js';
import { errorMessage, replyCode } from './amqp-errors.js';
import { Deque } from '../../util/deque.js';

/** How long a nacking channel is still listened to for the confirms of what it holds. */
const NACK_GRACE_MS = 2000;

interface PendingPublish {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  /** The channel it is in flight on; undefined while it waits to be written (again). */
  lane: Lane | undefined;
  /** Written once already: the next write is a resend. */
  written: boolean;
  settled: boolean;
  /** Nacked once already: the next nack rejects it. */
  nacked?: boolean;
}

/** One confirm channel and what was written to it. */
interface Lane {
  readonly channel: ConfirmChannel;
  /**
   * Written here, in sequence order. An entry is live while `!p.settled && p.lane === lane`; dead
   * ones (settled, or nacked and moved to another channel) leave from the head.
   */
  readonly inFlight: Deque<PendingPublish>;
  /** Sequence number of inFlight.at(0), or of the next write when it is empty (tags start at 1). */
  headSeq: number;
  readonly unlisten: () => void;
  /** Set while it drains after a nack: the end of its grace. */
  grace?: ReturnType<typeof setTimeout>;
}

/** The publisher's view of the world outside it. */
export interface PublisherHooks {
  /** The server closed the channel, or it nacked (connection still up): attach a new one when you can. */
  channelFailed(err: Error): void;
}

/** The publish pipeline of one broker; survives channels, writes to one at a time. */
export class ConfirmPublisher {
  readonly #maxBuffered: number;
  readonly #hooks: PublisherHooks;
  readonly #nackGraceMs: number;
  readonly #waiting = new Deque<PendingPublish>();
  /** The channel publishes are written to. */
  #current: Lane | undefined;
  /** Channels that nacked: no longer written to, listened to until drained or their grace ends. */
  readonly #draining = new Set<Lane>();
  #writable = true;
  #unsettled = 0;
  #resent = 0;
  #closedWith: Error | undefined;
  #idleWaiters: Array<() => void> = [];

  /**
   * `maxBuffered` bounds publishes queued while no channel is attached; `nackGraceMs` is how long
   * a channel that nacked is still listened to for the confirms of what is in flight on it.
   */
  constructor(maxBuffered: number, hooks: PublisherHooks, nackGraceMs = NACK_GRACE_MS) {
    this.#maxBuffered = maxBuffered;
    this.#hooks = hooks;
    this.#nackGraceMs = nackGraceMs;
  }

  /** True while a confirm channel is attached for writing. */
  get attached(): boolean {
    return this.#current !== undefined;
  }

  /** Publishes not yet confirmed (waiting or in flight). */
  get pending(): number {
    return this.#unsettled;
  }

  /**
   * Publishes written again after having been written once (after a nack, a lost connection, a
   * channel closed by the server), since this publisher was made. Each is a possible duplicate
   * message: its first write may have been enqueued.
   */
  get resent(): number {
    return this.#resent;
  }

  /** Publish; resolves when the broker confirms, rejects on nack or when given up. */
  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<void> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    if (!this.#current && this.#waiting.length >= this.#maxBuffered) {
      return Promise.reject(new BrokerError(`publish refused: ${this.#waiting.length} publishes are already waiting for the broker connection to come back`));
    }
    return new Promise<void>((resolve, reject) => {
      const p: PendingPublish = { exchange, routingKey, content, options, resolve, reject, lane: undefined, written: false, settled: false };
      this.#unsettled++;
      // Keep order: a new publish may only overtake nothing.
      if (this.#current && this.#writable && this.#waiting.length === 0) this.#write(p);
      else this.#waiting.push(p);
    });
  }

  /** Start publishing on a fresh confirm channel (after connecting, or after a channel failure). */
  attach(channel: ConfirmChannel): void {
    // The broker attaches only when none is; if one were, let it drain rather than mix tags.
    if (this.#current) this.#startDraining(this.#current);
    let serverError: Error | undefined;
    const onAck = (f: { deliveryTag: number; multiple: boolean }): void => this.#confirm(lane, f.deliveryTag, f.multiple, false);
    const onNack = (f: { deliveryTag: number; multiple: boolean }): void => this.#confirm(lane, f.deliveryTag, f.multiple, true);
    const onDrain = (): void => {
      if (lane !== this.#current) return;
      this.#writable = true;
      this.#pump();
    };
    // A channel closed by the server emits 'error' (with the reply code) before 'close'; a
    // channel closed because its connection died emits only 'close'.
    const onError = (err: Error): void => {
      serverError = err;
    };
    const onClose = (): void => this.#detach(lane, serverError);
    const lane: Lane = {
      channel,
      inFlight: new Deque<PendingPublish>(),
      headSeq: 1,
      unlisten: () => {
        channel.off('ack', onAck);
        channel.off('nack', onNack);
        channel.off('drain', onDrain);
        channel.off('close', onClose);
        // 'error' stays: an unlistened 'error' would throw out of amqplib.
      },
    };
    channel.on('ack', onAck);
    channel.on('nack', onNack);
    channel.on('drain', onDrain);
    channel.on('error', onError);
    channel.on('close', onClose);
    this.#current = lane;
    this.#writable = true;
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
    const current = this.#current;
    for (const lane of [...this.#draining, ...(current ? [current] : [])]) {
      for (const p of this.#drop(lane)) this.#settle(p, err);
      // Draining channels are ours to close (the broker has forgotten them); the current one is the broker's.
      if (lane !== current) lane.channel.close().catch(() => {});
    }
    for (const p of this.#waiting.drain()) this.#settle(p, err);
    this.#checkIdle();
  }

  /** Write one publish; false when the caller should stop writing (buffer full, channel closing). */
  #write(p: PendingPublish): boolean {
    const lane = this.#current;
    if (!lane) {
      this.#waiting.unshiftAll([p]);
      return false;
    }
    let accepted: boolean;
    try {
      // No callback: confirms are matched by sequence number in #confirm, which also handles
      // the channel dying (amqplib would call every callback with a bare 'channel closed').
      accepted = lane.channel.publish(p.exchange, p.routingKey, p.content, p.options);
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
    if (p.written) this.#resent++;
    p.written = true;
    p.lane = lane; // its sequence number is lane.headSeq + its index in lane.inFlight
    lane.inFlight.push(p);
    if (!accepted) this.#writable = false;
    return accepted;
  }

  #pump(): void {
    while (this.#current && this.#writable && this.#waiting.length > 0) {
      const p = this.#waiting.shift();
      if (p && !this.#write(p)) break;
    }
    this.#checkIdle();
  }

  /** A basic.ack or basic.nack on `lane` (see the file comment for what a nack does). */
  #confirm(lane: Lane, tag: number, multiple: boolean, nacked: boolean): void {
    const resend: PendingPublish[] = [];
    const index = tag - lane.headSeq;
    const last = Math.min(index, lane.inFlight.length - 1);
    for (let i = multiple ? 0 : index; i <= last; i++) {
      const p = lane.inFlight.at(i);
      if (!p || p.settled || p.lane !== lane) continue;
      if (!nacked) this.#settle(p, undefined);
      else if (p.nacked) this.#settle(p, new BrokerError(`the broker did not accept the message for exchange '${p.exchange}' (basic.nack, twice)`));
      else {
        p.nacked = true;
        p.lane = undefined;
        resend.push(p);
      }
    }
    for (let head = lane.inFlight.at(0); head && (head.settled || head.lane !== lane); head = lane.inFlight.at(0)) {
      lane.inFlight.shift();
      lane.headSeq++;
    }
    this.#waiting.unshiftAll(resend);
    if (nacked && lane === this.#current) {
      this.#startDraining(lane);
      this.#hooks.channelFailed(new BrokerError('the broker nacked a publish'));
    }
    if (lane !== this.#current && lane.inFlight.length === 0) this.#retire(lane);
    this.#pump();
  }

  /** Write no more to `lane`, but listen to it until it is drained or its grace ends. */
  #startDraining(lane: Lane): void {
    this.#current = undefined;
    this.#draining.add(lane);
    lane.grace = setTimeout(() => {
      this.#retire(lane);
      this.#pump();
    }, this.#nackGraceMs);
    // Pending publishes hold the process (holding-broker.ts); the grace itself must not.
    lane.grace.unref();
  }

  /** A draining channel is done with: close it; what it still held unconfirmed goes out again. */
  #retire(lane: Lane): void {
    this.#waiting.unshiftAll(this.#drop(lane));
    lane.channel.close().catch(() => {});
  }

  /** The channel closed (its connection died, or the server closed it). */
  #detach(lane: Lane, serverError: Error | undefined): void {
    const wasCurrent = lane === this.#current;
    const unconfirmed = this.#drop(lane);
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
      if (wasCurrent) this.#hooks.channelFailed(serverError);
    }
    this.#pump(); // a draining channel closed: the current one may take its publishes now
  }

  /** Stop listening to `lane` and forget it; returns the publishes still live on it. */
  #drop(lane: Lane): PendingPublish[] {
    clearTimeout(lane.grace);
    lane.unlisten();
    this.#draining.delete(lane);
    if (this.#current === lane) this.#current = undefined;
    const live = lane.inFlight.drain().filter((p) => !p.settled && p.lane === lane);
    for (const p of live) p.lane = undefined;
    return live;
  }

  #settle(p: PendingPublish, err: Error | undefined): void {
    if (p.settled) return;
    p.settled = true;
    this.#unsettled--;
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
