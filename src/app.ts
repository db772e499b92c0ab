/**
 * The app: configuration + task registry + connections; one per process. It is the
 * composition root that plugs the broker and backend adapters into the core.
 */
import { realpathSync } from 'node:fs';
import type { ResultBackend } from './core/backend.js';
import type { Broker } from './core/broker.js';
import type { AppPort } from './core/app-port.js';
import { setCurrentApp } from './core/app-port.js';
import { TaskRegistry } from './core/registry.js';
import { GroupResult } from './core/canvas.js';
import { ChordError, ResultUnavailableError } from './core/errors.js';
import type { AsyncResult } from './core/result.js';
import type { SendOptions } from './core/send-options.js';
import type { Task } from './core/task.js';
import { DeclaredQueues } from './core/topology.js';
import { createBackend } from './backend/create-backend.js';
import { ControlClient } from './client/control.js';
import { Producer } from './client/producer.js';
import { loadConfig, type LoadConfigOptions } from './config/load-config.js';
import type { Config, UserConfig } from './config/schema.js';
import { loadTaskModules, nameTask } from './loader/load-tasks.js';
import { createLogger, type Logger } from './logging/logger.js';
import { createBroker } from './transport/create-broker.js';
import { holdingBroker } from './transport/holding-broker.js';
import { BeatControl } from './beat/beat-control.js';
import { maskUrl } from './util/mask-url.js';

/** Options of createApp(): config overrides plus where to look for the config file. */
export interface CreateAppOptions extends UserConfig {
  /** Explicit config file. */
  configFile?: string;
  /** Where the config search starts. */
  cwd?: string;
  /** Use an existing broker instead of one made from brokerUrl (tests, embedding). */
  broker?: Broker;
  logger?: Logger;
  /** Make this the app task.delay() uses (default true). */
  setAsCurrent?: boolean;
}

/** One celeryts application. */
export class App implements AppPort {
  readonly registry = new TaskRegistry();
  readonly log: Logger;
  #broker: Promise<Broker> | undefined;
  #backend: ResultBackend | undefined;
  #producer: Producer | undefined;
  #control: ControlClient | undefined;
  #queues: DeclaredQueues | undefined;
  readonly #injected: Broker | undefined;
  #beat: BeatControl | undefined;

  constructor(
    readonly config: Config,
    deps: { broker?: Broker | undefined; logger?: Logger | undefined } = {},
  ) {
    this.log = deps.logger ?? createLogger({ level: config.logLevel, file: config.logFile });
    this.#injected = deps.broker;
  }

  /** The connected broker (connects on first use). */
  broker(): Promise<Broker> {
    this.#broker ??= (async () => {
      const { brokerTls, brokerHeartbeat, brokerTransportOptions, brokerReconnectMaxRetries, brokerFailoverStrategy } = this.config;
      const b = holdingBroker(
        this.#injected ??
          (await createBroker(this.config.brokerUrl, {
            logger: this.log,
            ...(brokerTls ? { tls: brokerTls } : {}),
            ...(brokerHeartbeat !== undefined ? { heartbeatSeconds: brokerHeartbeat } : {}),
            reconnectMaxRetries: brokerReconnectMaxRetries,
            failoverStrategy: brokerFailoverStrategy,
            redis: brokerTransportOptions,
          })),
      );
      b.on('error', (err) => this.log.error({ err, broker: b.displayUrl }, 'broker error'));
      b.on('disconnected', (err) => this.log.warn({ err: err?.message, broker: b.displayUrl }, 'broker connection lost; reconnecting'));
      b.on('reconnected', () => this.log.info({ broker: b.displayUrl }, 'broker reconnected'));
      await b.connect();
      return b;
    })();
    // A failed connect is retried on the next call instead of being cached.
    this.#broker.catch(() => (this.#broker = undefined));
    return this.#broker;
  }

  /** The result backend the config names (by URL scheme, see backend/create-backend.ts). */
  async backend(): Promise<ResultBackend> {
    if (!this.#backend) {
      const { resultBackend, resultExpires, resultExtended, rpcReplyQueueExpires } = this.config;
      const made = await createBackend(resultBackend, {
        broker: () => this.broker(),
        log: this.log,
        revoke: (id, terminate) => this.#revoke(id, terminate),
        resultExpires,
        resultExtended,
        rpcReplyQueueExpiresMs: rpcReplyQueueExpires * 1000,
      });
      if (this.#backend) await made.close();
      else this.#backend = made;
    }
    return this.#backend;
  }

  async #revoke(taskId: string, terminate: boolean): Promise<void> {
    // Celery's AsyncResult.revoke: a broadcast nobody answers (workers keep the id).
    await (await this.control()).broadcast('revoke', { task_id: taskId, terminate, signal: 'SIGTERM' }, { reply: false });
  }

  /** Declared-queue cache shared by producer and worker. */
  async queues(): Promise<DeclaredQueues> {
    const broker = await this.broker();
    const quorum = this.config.defaultQueueType === 'quorum';
    // defaultQueueType applies to every task queue; a queue's own options win.
    this.#queues ??= new DeclaredQueues(broker, (name) => ({ ...(quorum ? { queueType: 'quorum' as const } : {}), ...this.config.queues[name] }));
    return this.#queues;
  }

  async #getProducer(): Promise<Producer> {
    if (!this.#producer) {
      const [broker, backend, queues] = await Promise.all([this.broker(), this.backend(), this.queues()]);
      this.#producer ??= new Producer(broker, backend, queues, {
        defaultQueue: this.config.defaultQueue,
        ignoreResult: this.config.ignoreResult,
        revoke: (id, terminate) => this.#revoke(id, terminate),
      });
    }
    return this.#producer;
  }

  /** Send a task by name (Celery's send_task): no task module needed. */
  async sendTask<R = unknown>(name: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: SendOptions = {}): Promise<AsyncResult<R>> {
    const producer = await this.#getProducer();
    return producer.send<R>(name, args, kwargs, options);
  }

  /** The reply_to an outgoing task whose result is wanted carries (rpc), or undefined. */
  async replyTo(): Promise<string | undefined> {
    return (await (await this.backend()).onTaskCall()).replyTo;
  }

  /** Track results for a task id this app is about to send (chain steps, group members). */
  async track<R = unknown>(taskId: string): Promise<AsyncResult<R>> {
    return (await this.backend()).track<R>(taskId);
  }

  /**
   * A handle on any task id (Celery's AsyncResult(id)), its stored state read: `state`,
   * `result`, `traceback`, `dateDone`, `get()`, `forget()`, `revoke()`. With redis:// any
   * process can read any task's result until it expires; with rpc:// only the tasks this app
   * sent can be waited for (anything else fails at once with CELERYTS_RESULT_UNAVAILABLE).
   */
  async asyncResult<R = unknown>(taskId: string): Promise<AsyncResult<R>> {
    return (await this.backend()).lookup<R>(taskId);
  }

  /** Store a chord's header size before its header is sent; ChordError when the backend cannot join chords. */
  async prepareChord(groupId: string, size: number): Promise<void> {
    const backend = await this.backend();
    if (!backend.chords) {
      throw new ChordError(
        `the ${backend.name} result backend does not support chords: a chord needs a backend that stores results and joins them (resultBackend: 'redis://...'), as in Celery`,
      );
    }
    await backend.chords.setChordSize(groupId, size);
  }

  /** Save a group's member ids (GroupResult.save()). */
  async saveGroup(groupId: string, taskIds: readonly string[]): Promise<void> {
    const backend = await this.backend();
    if (!backend.groups) throw new ResultUnavailableError(`the ${backend.name} result backend cannot save groups; use resultBackend: 'redis://...'`);
    await backend.groups.saveGroup(groupId, taskIds);
  }

  /** A saved group by id (Celery's GroupResult.restore), or null when none is saved under it. */
  async groupResult<R extends unknown[] = unknown[]>(groupId: string): Promise<GroupResult<R> | null> {
    const backend = await this.backend();
    if (!backend.groups) throw new ResultUnavailableError(`the ${backend.name} result backend cannot restore groups; use resultBackend: 'redis://...'`);
    const ids = await backend.groups.restoreGroup(groupId);
    if (!ids) return null;
    return new GroupResult<R>(groupId, await Promise.all(ids.map((id) => backend.lookup(id))));
  }

  /** The task's canonical name, deriving it on first use. */
  async nameOf(task: Task<any, any>): Promise<string> {
    if (task.hasName) return task.name;
    const name = await nameTask(task, realpathSync(this.config.root));
    if (!this.registry.has(name)) this.registry.register(task);
    return name;
  }

  /** Load the configured task modules plus `extra` (e.g. -A flags); returns the files loaded. */
  loadTasks(extra: readonly string[] = []): Promise<string[]> {
    const refs = [...new Set([...this.config.imports, ...extra])];
    return loadTaskModules(refs, this.config.root, this.registry);
  }

  /** Remote control client (inspect/control). */
  async control(): Promise<ControlClient> {
    this.#control ??= new ControlClient(await this.broker(), this.config.controlSecret);
    return this.#control;
  }

  /**
   * Periodic tasks at runtime: `app.beat.set(name, { task, schedule, ... })`, `remove(name)`,
   * `list()`. Changes go to beat's store next to the broker; the leading beat applies them.
   */
  get beat(): BeatControl {
    this.#beat ??= new BeatControl(this.config, this.log);
    return this.#beat;
  }

  /** `await using app = await createApp()`: the app closes when the block ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Close connections. */
  async close(): Promise<void> {
    await this.#beat?.close();
    await this.#control?.close();
    await this.#backend?.close();
    const b = this.#broker;
    this.#broker = undefined;
    if (b) await (await b.catch(() => undefined))?.close();
    this.log.flush?.();
  }
}

/** Load the config (file < env < options) and make an app. */
export async function createApp(options: CreateAppOptions = {}): Promise<App> {
  const { configFile, cwd, broker, logger, setAsCurrent, ...overrides } = options;
  const load: LoadConfigOptions = { overrides };
  if (configFile !== undefined) load.configFile = configFile;
  if (cwd !== undefined) load.cwd = cwd;
  const config = await loadConfig(load);
  const app = new App(config, { broker, logger });
  if (!config.configFile) sayNoConfigFile(app, cwd ?? process.cwd(), overrides.brokerUrl === undefined && !process.env['CELERYTS_BROKER_URL']);
  if (setAsCurrent ?? true) setCurrentApp(app);
  return app;
}

let saidNoConfigFile = false;

/** Once per process: running on defaults is fine, but a user who meant a config file must hear it was not found. */
function sayNoConfigFile(app: App, from: string, defaultBroker: boolean): void {
  if (saidNoConfigFile) return;
  saidNoConfigFile = true;
  const where = defaultBroker ? `; tasks go through the embedded broker in ${app.config.brokerUrl.slice('file://'.length)}` : '';
  app.log.warn(
    { root: app.config.root, broker: maskUrl(app.config.brokerUrl) },
    `no config file found (celeryts.config.ts, .js, .json, .celerytsrc or "celeryts" in package.json, searched from ${from} up to the project root): using defaults${where}`,
  );
}
