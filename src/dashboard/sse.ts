/**
 * Server-sent events to every open page. One-way is all the page needs (actions go through
 * the JSON API), EventSource reconnects by itself, and it is plain HTTP: no WebSocket library.
 * A page that stops reading is cut off rather than buffered without bound; its EventSource
 * reconnects and starts again from a fresh snapshot.
 */
import type { ServerResponse } from 'node:http';

/** A client buffering more than this is dropped. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/** Open event streams. */
export class SseHub {
  readonly #clients = new Set<ServerResponse>();
  #keepalive: NodeJS.Timeout | undefined;

  get size(): number {
    return this.#clients.size;
  }

  /** Turn `res` into an event stream and send `first` events to it alone. */
  open(res: ServerResponse, first: [event: string, data: unknown][]): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    for (const [event, data] of first) res.write(frame(event, data));
    this.#clients.add(res);
    res.on('close', () => this.#clients.delete(res));
    this.#keepalive ??= setInterval(() => this.#write(': keepalive\n\n'), KEEPALIVE_MS).unref();
  }

  /** Send an event to every open page. */
  send(event: string, data: unknown): void {
    if (this.#clients.size) this.#write(frame(event, data));
  }

  #write(text: string): void {
    for (const res of this.#clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        this.#clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }

  /** End every stream. */
  close(): void {
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }
}

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
