/**
 * Worker heartbeats, as Celery's Heart: worker-online at start, worker-heartbeat every `freq`
 * seconds, worker-offline at stop, each with the worker's load and software identity.
 */
import os from 'node:os';
import { VERSION } from '../../version.js';
import type { EventDispatcher } from '../../client/event-dispatcher.js';

/** Celery's SOFTWARE_INFO, for this implementation. */
export const SOFTWARE_INFO = { sw_ident: 'celeryts', sw_ver: VERSION, sw_sys: os.type() } as const;

/** Celery's load_average(): 1, 5 and 15 minute load, rounded up to 2 decimals. */
export function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.ceil(l * 100) / 100);
}

/** What the heart reports about its worker. */
export interface HeartSource {
  /** Requests running now. */
  active(): number;
  /** Requests finished since start. */
  processed(): number;
}

/** Sends the worker-* events. */
export class Heart {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dispatcher: EventDispatcher,
    private readonly source: HeartSource,
    readonly freq = 2.0,
  ) {}

  #send(type: string): void {
    this.dispatcher.send(type, {
      freq: this.freq,
      active: this.source.active(),
      processed: this.source.processed(),
      loadavg: loadAverage(),
      ...SOFTWARE_INFO,
    });
  }

  /** worker-online, then a heartbeat every freq seconds. */
  start(): void {
    if (this.#timer) return;
    this.#send('worker-online');
    this.#timer = setInterval(() => this.beat(), this.freq * 1000).unref();
  }

  /** A heartbeat now (the `heartbeat` control command: monitors ask for one when they start). */
  beat(): void {
    this.#send('worker-heartbeat');
  }

  /** Stop beating and say goodbye. */
  stop(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#send('worker-offline');
  }
}
