/**
 * What tasks and signatures need from the app that sends them. The concrete app
 * (src/app.ts) implements it; core depends only on this interface.
 */
import type { AsyncResult } from './result.js';
import type { SendOptions } from './send-options.js';
import type { Task } from './task.js';

/** The sending half of an app, as core sees it. */
export interface AppPort {
  /** Send a task by name, like Celery's send_task. */
  sendTask<R = unknown>(name: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: SendOptions): Promise<AsyncResult<R>>;
  /** The canonical name of a task (resolving it on first use when the loader has not). */
  nameOf(task: Task<any, any>): Promise<string>;
  /** This client's reply queue for results, or undefined when results are not collected. */
  replyTo(): Promise<string | undefined>;
  /** Start tracking results for a task id this client is about to send (canvas steps). */
  track<R = unknown>(taskId: string): Promise<AsyncResult<R>>;
  /** Before a chord's header is sent: store its size; ChordError when the backend cannot join chords. */
  prepareChord(groupId: string, size: number): Promise<void>;
  /** Save a group's member ids under its id (GroupResult.save()). */
  saveGroup(groupId: string, taskIds: readonly string[]): Promise<void>;
}

const KEY = Symbol.for('celeryts.currentApp');
const FACTORY = Symbol.for('celeryts.defaultAppFactory');
type Holder = { [KEY]?: AppPort; [FACTORY]?: () => Promise<AppPort> };
// On globalThis so two copies of the package in one process still share the current app.
const holder = globalThis as unknown as Holder;

/** Make `app` the one that task.delay() and signature.delay() send through. */
export function setCurrentApp(app: AppPort | undefined): void {
  if (app) holder[KEY] = app;
  else delete holder[KEY];
}

/** Register how to build an app when none was created explicitly (from config and env). */
export function setDefaultAppFactory(factory: () => Promise<AppPort>): void {
  holder[FACTORY] = factory;
}

let pending: Promise<AppPort> | undefined;

/** The current app, creating the default one on first use. */
export async function currentApp(): Promise<AppPort> {
  const app = holder[KEY];
  if (app) return app;
  const factory = holder[FACTORY];
  if (!factory) throw new Error('celeryts: no app; call createApp() first');
  pending ??= factory().then((a) => {
    holder[KEY] ??= a;
    return holder[KEY];
  });
  return pending;
}
