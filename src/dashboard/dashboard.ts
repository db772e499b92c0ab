/**
 * `celeryts dashboard`: a live web dashboard for a cluster of celeryts and Python Celery
 * workers, built from the same event stream (`celeryev`) and remote control (pidbox) that
 * Flower uses. This file wires the parts together and owns their lifetimes:
 *
 *   EventReceiver ──▶ LiveState ──SSE──▶ pages          Inspector ──inspect──▶ LiveState
 *   queue poller (queueSize) ──▶ LiveState              HTTP server: page, /api (Flower's), /metrics
 */
import { maskUrl } from '../util/mask-url.js';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { App } from '../app.js';
import { EventReceiver } from '../client/event-receiver.js';
import { ConfigError } from '../core/errors.js';
import { redactPassword } from '../util/mask-url.js';
import { VERSION } from '../version.js';
import { Auth } from './auth.js';
import { ControlActions } from './control-actions.js';
import { Inspector } from './inspector.js';
import { LiveState, type QueueInfo } from './live-state.js';
import { createDashboardServer } from './server.js';
import { SseHub } from './sse.js';
import { loadStaticFiles } from './static-files.js';

/** Settings of one dashboard. */
export interface DashboardOptions {
  /** TCP port (0 picks a free one). Default 5555, Flower's. */
  port?: number;
  /** Address to bind. Default 127.0.0.1; anything else requires basicAuth or token. */
  address?: string;
  /** Accepted `user:password` pairs. */
  basicAuth?: readonly string[];
  /** Accepted bearer token. */
  token?: string;
  /** Hide and refuse every action (revoke, shutdown, pool, consumers, rate limits, send-task). */
  readOnly?: boolean;
  /** Tasks kept in memory (the oldest is forgotten first). Default 10,000. */
  maxTasks?: number;
  /** Ask workers to send task events (Flower's --enable_events), every 10 s. Default true. */
  enableEvents?: boolean;
  /** How often every worker is inspected again, ms. Default 30 s. */
  inspectIntervalMs?: number;
  /** How often queue lengths are read, ms. Default 2 s. */
  queueIntervalMs?: number;
}

const ENABLE_EVENTS_MS = 10_000;

/** Addresses that only this machine can reach. */
export const isLoopback = (address: string): boolean => address === 'localhost' || address === '::1' || /^127\./.test(address);

/** A running dashboard. */
export class Dashboard {
  readonly state: LiveState;
  readonly hub = new SseHub();
  #server: Server | undefined;
  #receiver: EventReceiver | undefined;
  #inspector: Inspector | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  #url = '';

  constructor(
    readonly app: App,
    readonly options: DashboardOptions = {},
  ) {
    this.state = new LiveState(this.hub, options.maxTasks ?? 10_000, (hostname) => this.#onNewWorker(hostname));
  }

  /**
   * A worker shows up: ask it for task events right away, then learn what only inspect tells.
   * In that order: a worker answers control in order, so once inspect has answered, task events
   * are on (a Python solo worker may otherwise run a task first, unseen).
   */
  #onNewWorker(hostname: string): void {
    void this.#enableEvents(hostname)
      .catch(() => undefined)
      .then(() => this.#inspector?.refresh(hostname));
  }

  /** Ask until it answers: a worker's first heartbeat may come before its pidbox queue exists. */
  async #enableEvents(hostname: string): Promise<void> {
    if (!(this.options.enableEvents ?? true)) return;
    const control = await this.app.control();
    for (let attempt = 0; attempt < 4; attempt++) {
      const replies = await control.broadcast('enable_events', {}, { destination: [hostname], timeout: 1, limit: 1 });
      if (hostname in replies) return;
    }
  }

  /** The page's address, once listening. */
  get url(): string {
    return this.#url;
  }

  /** Connect, start listening to events and serve; resolves with the URL. */
  async start(): Promise<string> {
    const address = this.options.address ?? '127.0.0.1';
    const auth = new Auth({ basicAuth: this.options.basicAuth, token: this.options.token });
    if (!isLoopback(address) && !auth.enabled) {
      throw new ConfigError(
        `the dashboard would listen on ${address} without credentials: set a token (--token or CELERYTS_DASHBOARD_TOKEN) or basic auth (--basic-auth user:password), or bind 127.0.0.1`,
      );
    }
    const app = this.app;
    const broker = await app.broker();
    const control = () => app.control();
    const onError = (err: unknown, what = 'dashboard') =>
      app.log.warn({ err: redactPassword(String((err as Error)?.message ?? err), app.config.brokerUrl) }, `${what} failed`);
    this.#receiver = new EventReceiver(broker);
    await this.#receiver.start((e) => this.state.apply(e));
    this.#inspector = new Inspector(control, this.state, (err) => onError(err, 'inspect'), this.options.inspectIntervalMs);
    const actions = new ControlActions(control, (name) => this.state.workers.has(name));

    // Workers answer a heartbeat request at once (no 2 s wait), and send task events if asked.
    void control()
      .then((c) => c.broadcast('heartbeat', {}, { reply: false }))
      .catch(onError);
    if (this.options.enableEvents ?? true) {
      const enable = () => void control().then((c) => c.broadcast('enable_events', {}, { reply: false }).catch(onError), onError);
      enable();
      this.#timers.push(setInterval(enable, ENABLE_EVENTS_MS).unref());
    }
    this.#inspector.start();
    this.#timers.push(setInterval(() => this.state.tick(), 1000).unref());
    void this.#pollQueues(onError);
    this.#timers.push(setInterval(() => void this.#pollQueues(onError), this.options.queueIntervalMs ?? 2000).unref());

    this.#server = createDashboardServer({
      app,
      state: this.state,
      actions,
      inspector: this.#inspector,
      readOnly: this.options.readOnly ?? false,
      info: {
        broker: broker.displayUrl,
        transport: broker.transport,
        version: VERSION,
        resultBackend: app.config.resultBackend === 'rpc' || app.config.resultBackend === 'none' ? app.config.resultBackend : maskUrl(app.config.resultBackend),
      },
      auth,
      hub: this.hub,
      files: loadStaticFiles(),
      onError: (err, path) => onError(err, `request ${path}`),
      redact: (text) => redactPassword(text, app.config.brokerUrl),
    });
    const server = this.#server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 5555, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    this.#url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/`;
    return this.#url;
  }

  /** Queues to show: the default queue, configured ones, and every queue a worker consumes. */
  async #pollQueues(onError: (err: unknown) => void): Promise<void> {
    try {
      const broker = await this.app.broker();
      const consumers = this.state.workers.consumersByQueue();
      const names = new Set([this.app.config.defaultQueue, ...Object.keys(this.app.config.queues), ...consumers.keys()]);
      const queues: QueueInfo[] = await Promise.all(
        [...names]
          .sort()
          .map(async (name) => ({ name, messages: (await broker.queueSize(name).catch(() => undefined)) ?? null, consumers: consumers.get(name) ?? 0 })),
      );
      if (JSON.stringify(queues) === JSON.stringify(this.state.queues)) return;
      this.state.queues = queues;
      this.hub.send('queues', { queues });
    } catch (err) {
      onError(err);
    }
  }

  /** Stop serving and listening; the app is the caller's to close. */
  async close(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#inspector?.close();
    this.state.close();
    this.hub.close();
    const server = this.#server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.#receiver?.stop();
  }
}
