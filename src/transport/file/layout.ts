/**
 * On-disk layout of the file broker, and the encodings of names into file names.
 *
 * ```
 * <root>/
 *   queues/<queue>/meta.json                       queue options + owning process
 *   queues/<queue>/ready/<message>                 messages waiting for a consumer
 *   queues/<queue>/delayed/<due>-<rest>            published with delayMs; renamed into ready/
 *                                                  when due (see delay-mover.ts)
 *   queues/<queue>/claimed/<owner>-c<n>/<message>  unacked deliveries of one consumer
 *   exchanges/<exchange>/meta.json                 exchange type
 *   exchanges/<exchange>/bindings/<queue>~<key>    one empty file per binding
 *   tmp/<owner>.<rand>                             staging: messages, queue dirs, meta files
 *   trash/<owner>.<rand>                           deleted queues being removed
 *   owners/<owner>                                 liveness leases (only without /proc)
 * ```
 * Everything that becomes visible to other processes is first built under tmp/ and then
 * renamed (or hard-linked) into place, so readers never see half-written files.
 */
import path from 'node:path';
import { BrokerError } from '../../core/errors.js';

/** Paths of one broker directory. */
export class Layout {
  readonly queues: string;
  readonly exchanges: string;
  readonly tmp: string;
  readonly trash: string;
  readonly owners: string;

  constructor(readonly root: string) {
    this.queues = path.join(root, 'queues');
    this.exchanges = path.join(root, 'exchanges');
    this.tmp = path.join(root, 'tmp');
    this.trash = path.join(root, 'trash');
    this.owners = path.join(root, 'owners');
  }

  /** Directories created on connect. */
  get topDirs(): string[] {
    return [this.queues, this.exchanges, this.tmp, this.trash, this.owners];
  }

  queueDir(queue: string): string {
    return path.join(this.queues, encodeName(queue));
  }
  queueMeta(queue: string): string {
    return path.join(this.queueDir(queue), 'meta.json');
  }
  ready(queue: string): string {
    return path.join(this.queueDir(queue), 'ready');
  }
  delayed(queue: string): string {
    return path.join(this.queueDir(queue), 'delayed');
  }
  claimedRoot(queue: string): string {
    return path.join(this.queueDir(queue), 'claimed');
  }
  exchangeDir(exchange: string): string {
    return path.join(this.exchanges, encodeName(exchange));
  }
  exchangeMeta(exchange: string): string {
    return path.join(this.exchangeDir(exchange), 'meta.json');
  }
  bindings(exchange: string): string {
    return path.join(this.exchangeDir(exchange), 'bindings');
  }
}

/**
 * Resolve a `file://` URL to a directory: `file:///abs` is absolute, `file://rel/dir` is relative
 * to process.cwd() (a WHATWG URL parser would read `rel` as a host), `file://` alone means
 * `.celeryts/broker` so a bare URL works out of the box.
 */
export function rootFromUrl(url: string): string {
  const m = /^file:\/\/(.*)$/i.exec(url);
  if (!m) throw new BrokerError(`Not a file broker URL: '${url}' (expected file://<dir>)`);
  const raw = decodeURIComponent(m[1] ?? '');
  return path.resolve(raw === '' ? '.celeryts/broker' : raw);
}

const SAFE = /^[A-Za-z0-9._@-]$/;

/**
 * Encode a queue/exchange name or routing key as one path segment. Readable for the usual
 * Celery names (`celery`, `x@host.celery.pidbox`); everything else is %XX so `/`, `~` (our
 * binding separator), `*` and `#` can never clash, and a leading dot is encoded so `.`, `..`
 * and hidden names are impossible.
 */
export function encodeName(name: string): string {
  let out = '';
  for (const ch of name) {
    if (SAFE.test(ch) && !(ch === '.' && out === '')) out += ch;
    else for (const byte of Buffer.from(ch)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Inverse of `encodeName`. */
export function decodeName(segment: string): string {
  return decodeURIComponent(segment);
}

/** Refuse names the layout cannot hold, with the reason. */
export function checkName(kind: 'queue' | 'exchange', name: string): void {
  if (name === '') throw new BrokerError(`The file broker needs a non-empty ${kind} name`);
  if (Buffer.byteLength(encodeName(name)) > 200) throw new BrokerError(`${kind} name too long for the file broker: '${name.slice(0, 40)}...'`);
}
