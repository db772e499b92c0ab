/**
 * Beat as a service of an app: `celeryts beat` runs one alone, `celeryts worker -B` runs one
 * beside the worker. It checks the config's schedule (an InvalidScheduleError, exit 2, names the
 * entry and field), opens the store next to the broker, and sends ticks through the app's broker
 * as Celery's beat does (send_task: the entry's task name, args, kwargs and options).
 */
import type { App } from '../app.js';
import { NoneBackend } from '../backend/none.js';
import { Producer } from '../client/producer.js';
import { systemClock, type Clock } from './clock.js';
import { compileConfigEntries, type CompiledEntry } from './entry.js';
import { Scheduler, type SendTick } from './scheduler.js';
import type { BeatStore } from './store.js';
import { storeTiming } from './open-store.js';
import { tickId } from './tick-id.js';

/** Options of a beat service; the defaults come from the app's config. */
export interface BeatServiceOptions {
  /** Time source (tests move it by hand). */
  clock?: Clock;
}

/**
 * Ticks go out as tasks with no reply queue: nobody waits for their results here, so they are
 * not collected (a result backend that stores by task id still stores them).
 */
/** Beat hands out no result handles to revoke through. */
const noRevoke = async (): Promise<void> => undefined;

function tickSender(app: App): SendTick {
  let producer: Promise<Producer> | undefined;
  return async (tick, taskId) => {
    if (!producer) {
      const making = (async () =>
        new Producer(await app.broker(), new NoneBackend(noRevoke), await app.queues(), {
          defaultQueue: app.config.defaultQueue,
          ignoreResult: app.config.ignoreResult,
          revoke: noRevoke,
        }))();
      making.catch(() => {
        if (producer === making) producer = undefined;
      });
      producer = making;
    }
    const { entry } = tick;
    await (await producer).send(entry.task, entry.args, entry.kwargs, { ...entry.options, taskId });
  };
}

/** One beat instance of an app. */
export class BeatService {
  private constructor(
    readonly app: App,
    readonly store: BeatStore,
    readonly configEntries: readonly CompiledEntry[],
    readonly scheduler: Scheduler,
  ) {}

  /** Check the schedule, warn about unknown tasks, open the store; `start()` runs it. */
  static async create(app: App, options: BeatServiceOptions = {}): Promise<BeatService> {
    const configEntries = compileConfigEntries(app.config);
    if (app.registry.names().length > 0) {
      for (const e of configEntries) {
        if (!app.registry.has(e.task)) {
          app.log.warn({ entry: e.name, task: e.task }, `beat entry '${e.name}': task '${e.task}' is not registered in the loaded modules; sending anyway`);
        }
      }
    }
    const store = await app.beat.store();
    const { pollMs } = storeTiming(app.config);
    const deadline = app.config.beatStartingDeadline;
    // Whether ticks can go out now: the app's broker says when its connection drops and returns.
    let connected = true;
    app.broker().then(
      (broker) => {
        broker.on('disconnected', () => (connected = false));
        broker.on('reconnected', () => (connected = true));
      },
      () => undefined, // the first send retries the connection and reports it
    );
    const scheduler = new Scheduler({
      store,
      configEntries,
      defaultTz: app.config.timezone,
      send: tickSender(app),
      taskId: tickId,
      clock: options.clock ?? systemClock,
      log: app.log,
      pollMs,
      graceMs: deadline === null ? null : deadline * 1000,
      canSend: () => connected,
    });
    return new BeatService(app, store, configEntries, scheduler);
  }

  /** Start electing and, when leading, sending. Returns at once. */
  start(): void {
    this.scheduler.start();
  }

  /**
   * Stop: release the lock (a standby takes over at once) and return once the loop ended, or
   * after `timeoutMs` if a send is stuck on an unreachable broker (the lock then goes with the
   * process or its lease).
   */
  async stop(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.app.log.warn({ timeoutMs }, 'beat: did not stop in time (a send is waiting for the broker); leaving anyway');
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.scheduler.stop(), late]);
    clearTimeout(timer);
  }
}
