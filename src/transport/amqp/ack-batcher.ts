/**
 * Acknowledgements for one consumer channel incarnation, coalesced per event-loop turn.
 *
 * Why: a basic.ack per message is a frame per message. Deliveries arrive in bursts (one
 * socket read holds many), handlers often ack synchronously, so the acks of one turn usually
 * form a run from the oldest unsettled delivery upwards, which one `ack(tag, multiple=true)`
 * settles at once.
 *
 * Safety rule: `multiple=true` settles EVERY unacked delivery with a tag <= the given tag on
 * the channel. So a multiple ack is only sent for a prefix of the unsettled deliveries (in tag
 * order) that the application has all acked; any other ack goes out alone. Rejections go out
 * immediately and leave the unsettled set, so a later multiple ack can never cover them twice.
 *
 * Stale deliveries: when the channel dies its tags die with it (RabbitMQ would close the new
 * channel with PRECONDITION_FAILED "unknown delivery tag" if we sent them there). A dead
 * batcher ignores everything: the broker requeues those messages by itself.
 */
import type { Channel, Message } from 'amqplib';

/** Batches acks for one channel incarnation; see the file comment for the safety rule. */
export class AckBatcher {
  readonly #channel: Channel;
  /** Delivered, not yet settled, in tag order (a Map iterates in insertion order, and tags only grow). */
  readonly #unsettled = new Map<number, Message>();
  /** Acked by the application during this turn, not yet sent. */
  readonly #ackedThisTurn = new Set<number>();
  #flushTimer: NodeJS.Immediate | undefined;
  #dead = false;
  #onIdle: (() => void) | undefined;

  /** Batch acks for deliveries received on `channel`. */
  constructor(channel: Channel) {
    this.#channel = channel;
  }

  /** True once the channel is gone; every call is then a no-op. */
  get dead(): boolean {
    return this.#dead;
  }

  /** Deliveries handed out and not yet acked or rejected. */
  get unsettledCount(): number {
    return this.#unsettled.size;
  }

  /** Remember a delivery (consumers with manual acks only). */
  track(message: Message): void {
    if (!this.#dead) this.#unsettled.set(message.fields.deliveryTag, message);
  }

  /** Queue an ack for this turn's flush. Repeated or late calls are ignored. */
  ack(tag: number): void {
    if (this.#dead || !this.#unsettled.has(tag) || this.#ackedThisTurn.has(tag)) return;
    this.#ackedThisTurn.add(tag);
    // setImmediate, not a microtask: it runs after the poll phase, so every delivery parsed
    // from the same socket read (and acked synchronously) lands in one flush.
    this.#flushTimer ??= setImmediate(() => this.flush());
  }

  /** Reject now (basic.nack, single). Ignored after an ack or reject of the same delivery. */
  reject(tag: number, requeue: boolean): void {
    if (this.#dead || this.#ackedThisTurn.has(tag)) return;
    const message = this.#unsettled.get(tag);
    if (!message) return;
    this.#unsettled.delete(tag);
    this.#send(() => this.#channel.nack(message, false, requeue));
    this.#checkIdle();
  }

  /** Send every queued ack now (close() calls this; otherwise the end of the turn does). */
  flush(): void {
    if (this.#flushTimer) clearImmediate(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#dead || this.#ackedThisTurn.size === 0) return;

    // The longest run of acked deliveries starting at the oldest unsettled one: one frame.
    let last: Message | undefined;
    let run = 0;
    for (const [tag, message] of this.#unsettled) {
      if (!this.#ackedThisTurn.has(tag)) break;
      this.#unsettled.delete(tag); // deleting the current entry while iterating a Map is safe
      this.#ackedThisTurn.delete(tag);
      last = message;
      run++;
    }
    if (last) {
      const upTo = last;
      this.#send(() => this.#channel.ack(upTo, run > 1));
    }
    // Acks behind an unsettled delivery: one by one, or the multiple flag would settle it too.
    for (const tag of this.#ackedThisTurn) {
      const message = this.#unsettled.get(tag);
      this.#unsettled.delete(tag);
      if (message) this.#send(() => this.#channel.ack(message, false));
    }
    this.#ackedThisTurn.clear();
    this.#checkIdle();
  }

  /** Call `callback` once every delivery is settled (now, if none is outstanding). */
  whenIdle(callback: () => void): void {
    this.#onIdle = callback;
    this.#checkIdle();
  }

  /** The channel died: forget everything, ignore every later call. */
  kill(): void {
    this.#dead = true;
    if (this.#flushTimer) clearImmediate(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#unsettled.clear();
    this.#ackedThisTurn.clear();
    this.#checkIdle();
  }

  #send(frame: () => void): void {
    try {
      frame();
    } catch {
      // amqplib throws IllegalOperationError once the channel is closing: its deliveries are
      // void, and the close handler will kill this batcher.
      this.kill();
    }
  }

  #checkIdle(): void {
    if (this.#onIdle && (this.#dead || (this.#unsettled.size === 0 && this.#ackedThisTurn.size === 0))) {
      const callback = this.#onIdle;
      this.#onIdle = undefined;
      callback();
    }
  }
}
