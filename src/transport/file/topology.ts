/**
 * Exchanges and bindings on disk (routing itself is the virtual layer's: virtual/routing.ts).
 *
 * A binding is an empty file `exchanges/<x>/bindings/<queue>~<key>`: creating or removing one is
 * a single atomic directory operation, so processes binding concurrently never lose each
 * other's bindings (a shared JSON file would need a lock). Publishers cache each exchange's
 * binding list and revalidate it with one stat of the bindings directory per publish: any
 * binding change bumps the directory's mtime. Kernel timestamps are coarse (a few ms), so a
 * cache read within CACHE_MTIME_GUARD_MS of the directory's mtime is not trusted: a change in
 * the same clock tick could otherwise keep the same mtime.
 */
import { mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import type { ExchangeType } from '../../core/broker.js';
import { BrokerError } from '../../core/errors.js';
import { createExclusive, ignoreGone, isGone } from './fs-util.js';
import { checkName, decodeName, encodeName, type Layout } from './layout.js';
import type { Binding } from '../virtual/driver.js';

const CACHE_MTIME_GUARD_MS = 100;
const SEP = '~';

interface BindingCache {
  mtimeNs: bigint;
  readAt: number;
  bindings: Binding[];
}

/** Exchange declarations, bindings and routing for one broker directory. */
export class Topology {
  /** Exchange types never change once declared, so they are cached for good. */
  private readonly types = new Map<string, ExchangeType>();
  private readonly bindingCache = new Map<string, BindingCache>();

  constructor(private readonly layout: Layout) {}

  /** Declare an exchange; redeclaring with another type fails as in AMQP. */
  async declareExchange(name: string, type: ExchangeType, options: { durable?: boolean; autoDelete?: boolean } = {}): Promise<void> {
    checkName('exchange', name);
    await mkdir(this.layout.bindings(name), { recursive: true });
    const meta = JSON.stringify({ v: 1, name, type, durable: options.durable ?? true, autoDelete: options.autoDelete ?? false });
    await createExclusive(this.layout.tmp, this.layout.exchangeMeta(name), meta);
    const actual = await this.type(name);
    if (actual !== type) {
      throw new BrokerError(`Exchange '${name}' already exists with type '${actual ?? 'unknown'}', not '${type}'`);
    }
  }

  /** The exchange's type, or undefined if it was never declared. */
  async type(name: string): Promise<ExchangeType | undefined> {
    const cached = this.types.get(name);
    if (cached) return cached;
    try {
      const meta = JSON.parse(await readFile(this.layout.exchangeMeta(name), 'utf8')) as { type: ExchangeType };
      this.types.set(name, meta.type);
      return meta.type;
    } catch (err) {
      ignoreGone(err);
      return undefined;
    }
  }

  /** Bind `queue` to `exchange` with `key` (idempotent). The layer checks that both exist. */
  async bind(queue: string, exchange: string, key: string): Promise<void> {
    const entry = encodeName(queue) + SEP + encodeName(key);
    if (Buffer.byteLength(entry) > 250) throw new BrokerError(`Binding of '${queue}' with key '${key.slice(0, 40)}...' is too long for the file broker`);
    await writeFile(path.join(this.layout.bindings(exchange), entry), '', { flag: 'a' });
  }

  /** Remove every binding of `queue` (a deleted queue loses its bindings, as in AMQP). */
  async unbindAll(queue: string): Promise<void> {
    const prefix = encodeName(queue) + SEP;
    let exchanges: string[];
    try {
      exchanges = await readdir(this.layout.exchanges);
    } catch (err) {
      ignoreGone(err);
      return;
    }
    await Promise.all(
      exchanges.map(async (x) => {
        const dir = path.join(this.layout.exchanges, x, 'bindings');
        const entries = await readdir(dir).catch((err: unknown) => (isGone(err) ? [] : Promise.reject(err)));
        await Promise.all(entries.filter((e) => e.startsWith(prefix)).map((e) => unlink(path.join(dir, e)).catch(ignoreGone)));
      }),
    );
  }

  /**
   * The bindings of an exchange, from the cache while the bindings directory is unchanged (see
   * the module comment). A missing exchange is an error (AMQP: 404 NOT_FOUND).
   */
  async bindings(exchange: string): Promise<Binding[]> {
    const dir = this.layout.bindings(exchange);
    let st: BigIntStats;
    try {
      st = await stat(dir, { bigint: true });
    } catch (err) {
      ignoreGone(err);
      this.types.delete(exchange); // removed behind our back: forget it, as if never declared
      throw new BrokerError(`Cannot publish to exchange '${exchange}': it does not exist`);
    }
    const hit = this.bindingCache.get(exchange);
    if (hit && hit.mtimeNs === st.mtimeNs && hit.readAt - Number(st.mtimeNs / 1_000_000n) > CACHE_MTIME_GUARD_MS) {
      return hit.bindings;
    }
    const readAt = Date.now();
    const bindings: Binding[] = [];
    for (const entry of await readdir(dir)) {
      const i = entry.indexOf(SEP);
      if (i > 0) bindings.push({ queue: decodeName(entry.slice(0, i)), key: decodeName(entry.slice(i + 1)) });
    }
    this.bindingCache.set(exchange, { mtimeNs: st.mtimeNs, readAt, bindings });
    return bindings;
  }
}
