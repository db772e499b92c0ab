/**
 * The actions an operator can take, as remote-control broadcasts to one worker (or all), with
 * Flower's messages. Each returns `{ ok }` with the worker's answer or `{ error, status }`:
 * 404 for a worker the dashboard has never seen, 403 when the worker refused or did not answer
 * (Flower's statuses, so scripts that check them keep working).
 */
import type { ControlClient } from '../client/control.js';

/** What an action did. */
export type ActionResult = { ok: string } | { error: string; status: number };

/** Seconds to wait for a worker's answer. */
const REPLY_TIMEOUT = 2;

/** Remote-control actions bound to one ControlClient. */
export class ControlActions {
  constructor(
    private readonly control: () => Promise<ControlClient>,
    /** Is this a worker the dashboard knows? */
    private readonly isWorker: (name: string) => boolean,
  ) {}

  /** Send `method` to `worker` and read its `{ok}` / `{error}` reply. */
  async #ask(worker: string, method: string, args: Record<string, unknown>, failure: string, success?: string): Promise<ActionResult> {
    if (!this.isWorker(worker)) return { error: `Unknown worker '${worker}'`, status: 404 };
    const control = await this.control();
    const replies = await control.broadcast(method, args, { destination: [worker], timeout: REPLY_TIMEOUT, limit: 1 });
    const answer = replies[worker] as Record<string, unknown> | undefined;
    if (answer && typeof answer === 'object' && 'ok' in answer) return { ok: success ?? String(answer['ok']) };
    const reason = answer && typeof answer === 'object' && 'error' in answer ? String(answer['error']) : answer === undefined ? 'no reply' : 'Unknown reason';
    return { error: `${failure}: ${reason}`, status: 403 };
  }

  shutdown(worker: string): Promise<ActionResult> {
    if (!this.isWorker(worker)) return Promise.resolve({ error: `Unknown worker '${worker}'`, status: 404 });
    // Flower fires and forgets: a worker shutting down may not answer.
    return this.control().then(async (c) => {
      await c.broadcast('shutdown', {}, { destination: [worker], reply: false });
      return { ok: 'Shutting down!' };
    });
  }

  poolGrow(worker: string, n: number): Promise<ActionResult> {
    return this.#ask(worker, 'pool_grow', { n }, `Failed to grow '${worker}' worker's pool`, `Growing '${worker}' worker's pool by ${n}`);
  }

  poolShrink(worker: string, n: number): Promise<ActionResult> {
    return this.#ask(worker, 'pool_shrink', { n }, `Failed to shrink '${worker}' worker's pool`, `Shrinking '${worker}' worker's pool by ${n}`);
  }

  autoscale(worker: string, min: number, max: number): Promise<ActionResult> {
    return this.#ask(worker, 'autoscale', { min, max }, `Failed to autoscale '${worker}' worker`, `Autoscaling '${worker}' worker (min=${min}, max=${max})`);
  }

  poolRestart(worker: string): Promise<ActionResult> {
    return this.#ask(worker, 'pool_restart', { reload: false }, `Failed to restart the '${worker}' pool`, `Restarting '${worker}' worker's pool`);
  }

  addConsumer(worker: string, queue: string): Promise<ActionResult> {
    return this.#ask(worker, 'add_consumer', { queue }, `Failed to add '${queue}' consumer to '${worker}' worker`);
  }

  cancelConsumer(worker: string, queue: string): Promise<ActionResult> {
    return this.#ask(worker, 'cancel_consumer', { queue }, `Failed to cancel '${queue}' consumer from '${worker}' worker`);
  }

  rateLimit(task: string, rate: string, worker: string): Promise<ActionResult> {
    return this.#ask(worker, 'rate_limit', { task_name: task, rate_limit: rate }, 'Failed to set rate limit');
  }

  timeLimit(task: string, worker: string, soft: number | null, hard: number | null): Promise<ActionResult> {
    return this.#ask(worker, 'time_limit', { task_name: task, soft, hard }, 'Failed to set timeouts');
  }

  /** Revoke (and with `terminate`, stop) a task on every worker; no reply awaited, as Celery's revoke. */
  async revoke(taskId: string, terminate: boolean, signal = 'SIGTERM'): Promise<ActionResult> {
    const control = await this.control();
    await control.broadcast('revoke', { task_id: taskId, terminate, signal }, { reply: false });
    return { ok: `Revoked '${taskId}'` };
  }
}
