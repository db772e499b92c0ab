/**
 * Start marks: how the poison-task guard tells "this task started and its worker died" from
 * "this message was only prefetched and given back" (a connection blip, a warm shutdown with a
 * big prefetch). Both come back flagged `redelivered`; only the first may count towards
 * maxRedeliveries.
 *
 * A mark is a small message in a durable queue of the worker's own, `celeryts.started.<node>`,
 * written (and confirmed by the broker) just before an acks-late task that may be poison starts,
 * and consumed back by the same worker, which holds it unacked while the task runs and acks it
 * when the task ends. So the marks ready in that queue are exactly the tasks that started under
 * a previous life of this node and never ended: a worker reads them when it starts, before it
 * consumes any task queue, and a redelivered task with a mark counts; one without runs.
 *
 *   redelivered (or counted) acks-late task reaches a pool slot
 *        ─▶ publish mark {mark, taskId}; await the confirm ─▶ run
 *        ─▶ (mark comes back to our consumer; held) ─▶ task ends ─▶ ack the mark
 *   worker dies mid-task ─▶ the mark returns to the queue ─▶ the next start of the node reads
 *        it ─▶ the task's redelivery counts
 *
 * Only messages already redelivered (or carrying a count) are marked, so the ordinary path costs
 * nothing: the first death of a poison task is not seen, and a poison task runs at most
 * maxRedeliveries + 2 times. The queue is per node name, so a worker restarted under another
 * name does not see its old marks (a poison task then goes on killing workers whose names
 * change each start): give workers stable names (-n) where that matters.
 * A dead worker's task and its mark come back at about the same time and in either order
 * (RabbitMQ requeues both when it sees the connection gone, Redis restores both after the
 * visibility timeout): a redelivered acks-late task without a mark waits a moment
 * (MARK_GRACE_MS, worker.ts) for one, and a mark from a previous life counts whenever it comes.
 * On Redis "about the same time" needs help: restores run in passes (every visibility timeout
 * / 4, at least 1 s), oldest delivery first, and the task was taken before its mark (by the
 * grace wait, at least), so a pass could bring the task back a whole pass before its mark. The
 * worker therefore touches the task (Delivery.touch) once its mark is held: the mark is then
 * never restored after its task. The queue is the same
 * on every broker (it is only publish, consume and ack), so marks work on amqp, redis and file.
 */
import { randomUUID } from 'node:crypto';
import { supportedQueueOptions, type Broker, type Consumer, type Delivery } from '../core/broker.js';
import type { Logger } from '../logging/logger.js';

/** The marks queue of a node. */
export const startMarksQueue = (nodeName: string): string => `celeryts.started.${nodeName}`;

/** A node not started again within this long leaves its marks queue to the broker to delete (where queues can expire). */
const MARKS_QUEUE_EXPIRES_MS = 7 * 24 * 3600_000;
/** At most this long to read the marks of a previous life at start. */
const LOAD_TIMEOUT_MS = 5000;
/** At most this long, at warm shutdown, for the marks of ended tasks to come back and be acked. */
const DRAIN_TIMEOUT_MS = 3000;
/** At most this long for a new mark to come back and be held, when mark() is asked to wait for it. */
const HELD_TIMEOUT_MS = 1000;
/** Deaths remembered per worker; a bound, not a working limit. */
const MAX_DIED = 10_000;

/** Ack a mark; a failed ack leaves it to come back, which only makes a death of that task count once more. */
function settle(d: Delivery): void {
  Promise.resolve(d.ack()).catch(() => undefined);
}

interface Held {
  delivery: Delivery | undefined;
  ended: boolean;
  /** Called once the mark is held (mark() with untilHeld waits for it). */
  onHeld?: (() => void) | undefined;
}

/** One worker's start marks; see the file comment. */
export class StartMarks {
  readonly #queue: string;
  /** Task ids whose marks a previous life left: they started and their worker died. */
  readonly #died = new Set<string>();
  /** This life's marks, by mark id. */
  readonly #held = new Map<string, Held>();
  #consumer: Consumer | undefined;
  #loaded = 0;
  #onLoaded: (() => void) | undefined;

  constructor(
    private readonly broker: Broker,
    nodeName: string,
    private readonly log: Logger,
    /** 'quorum' with defaultQueueType 'quorum': on a cluster a classic queue dies with its node. */
    private readonly queueType?: 'quorum',
  ) {
    this.#queue = startMarksQueue(nodeName);
  }

  /** Declare the queue and read what a previous life left, before any task is consumed. */
  async start(): Promise<void> {
    await this.broker.declareQueue(
      this.#queue,
      supportedQueueOptions(this.broker, { durable: true, expiresMs: MARKS_QUEUE_EXPIRES_MS, ...(this.queueType ? { queueType: this.queueType } : {}) }),
    );
    const waiting = (await this.broker.queueSize(this.#queue)) ?? 0;
    const loaded = new Promise<void>((resolve) => {
      this.#onLoaded = resolve;
      if (waiting === 0) resolve();
    });
    const want = waiting;
    this.#consumer = await this.broker.consume(this.#queue, { prefetch: 0 }, (d) => {
      this.#onMark(d);
      if (this.#loaded >= want) this.#onLoaded?.();
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([loaded, new Promise<void>((r) => (timer = setTimeout(r, LOAD_TIMEOUT_MS)))]);
    clearTimeout(timer);
    if (this.#died.size)
      this.log.warn(
        { tasks: [...this.#died] },
        `${this.#died.size} task(s) started under this node's previous run and never ended; their redeliveries count towards maxRedeliveries`,
      );
  }

  #onMark(d: Delivery): void {
    let mark: string | undefined;
    let taskId: string | undefined;
    try {
      ({ mark, taskId } = JSON.parse(d.body.toString('utf8')) as { mark?: string; taskId?: string });
    } catch {
      // not ours: drop it below
    }
    const held = mark ? this.#held.get(mark) : undefined;
    if (held) {
      // Ours: hold it while the task runs (again, after a blip gave it back).
      if (held.ended) {
        this.#held.delete(mark!);
        settle(d);
      } else held.delivery = d;
      held.onHeld?.();
      return;
    }
    // Left by a previous life of this node: that task started and its worker died.
    this.#loaded++;
    if (typeof taskId === 'string') {
      if (this.#died.size >= MAX_DIED) this.#died.delete(this.#died.values().next().value!);
      this.#died.add(taskId);
    }
    settle(d);
  }

  /** True when a previous life of this node started this task and died before it ended (without taking it). */
  hasDied(taskId: string): boolean {
    return this.#died.has(taskId);
  }

  /** True (once) when a previous life of this node started this task and died before it ended. */
  takeDied(taskId: string): boolean {
    return this.#died.delete(taskId);
  }

  /**
   * Write a mark before the task starts; resolves once the broker has it and, with `untilHeld`,
   * once it is back and held here too, so that the caller can then touch the task
   * (Delivery.touch, brokers with a visibility timeout): a dead worker's messages are restored
   * in passes, oldest first, and the mark must not come back a pass after its task (it would
   * then not count). Returns the mark's id for `ended`, or undefined when it could not be
   * written (logged; the task runs unmarked).
   */
  async mark(taskId: string, untilHeld = false): Promise<string | undefined> {
    const mark = randomUUID();
    const held: Held = { delivery: undefined, ended: false };
    this.#held.set(mark, held);
    try {
      await this.broker.publish('', this.#queue, {
        body: Buffer.from(JSON.stringify({ mark, taskId, pid: process.pid, at: new Date().toISOString() })),
        headers: {},
        properties: { contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2 },
      });
      if (untilHeld && !held.delivery) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          held.onHeld = resolve;
          timer = setTimeout(resolve, HELD_TIMEOUT_MS);
        });
        clearTimeout(timer);
        held.onHeld = undefined;
      }
      return mark;
    } catch (err) {
      this.#held.delete(mark);
      this.log.warn({ err, taskId }, 'could not write a start mark; the task runs unmarked (a death now would not count)');
      return undefined;
    }
  }

  /** The marked task ended (whatever its outcome): its mark goes. */
  ended(mark: string): void {
    const held = this.#held.get(mark);
    if (!held) return;
    if (held.delivery) {
      this.#held.delete(mark);
      settle(held.delivery);
    } else held.ended = true; // acked when it comes back
  }

  /** Warm shutdown: wait (briefly) for the marks of ended tasks to come back and be acked, then stop. */
  async stop(): Promise<void> {
    const until = Date.now() + DRAIN_TIMEOUT_MS;
    while ([...this.#held.values()].some((h) => h.ended) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const c = this.#consumer;
    this.#consumer = undefined;
    await c?.cancel().catch(() => undefined);
  }
}
