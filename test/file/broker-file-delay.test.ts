/**
 * FileBroker delayed publishes beyond the conformance suite: what the delay mover must prove
 * about the file layout (restart, racing movers, more messages than its in-memory window,
 * timing through the watcher) and the delayed file names.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Delivery, OutgoingMessage } from '../../src/core/broker.js';
import { FileBroker } from '../../src/transport/file/file-broker.js';
import { delayedDueAt, newDelayedName, parseMessageName, readyNameOfDelayed } from '../../src/transport/file/message-name.js';

const root = mkdtempSync(path.join(tmpdir(), 'celeryts-file-delay-'));
const url = `file://${root}`;
after(() => rmSync(root, { recursive: true, force: true }));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const uniq = (what: string): string => `fd.${what}.${randomBytes(4).toString('hex')}`;
const msg = (body: string, deliveryMode: 1 | 2 = 1): OutgoingMessage => ({ body: Buffer.from(body), headers: {}, properties: { deliveryMode } });

async function open(): Promise<FileBroker> {
  const b = new FileBroker(url);
  b.on('error', (e) => assert.fail(`broker error: ${String(e)}`));
  await b.connect();
  return b;
}

async function until(what: string, probe: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('file broker delayed messages', { concurrency: false }, () => {
  it('names: due order, priority and seq kept, a moved message queues at its due time', () => {
    const a = newDelayedName(2_000, undefined, undefined);
    const b = newDelayedName(1_000, 9, 9);
    assert.ok(b < a, 'earlier due sorts first');
    assert.equal(delayedDueAt(b), 1_000);
    assert.equal(parseMessageName(b), undefined, 'a delayed name is never a ready name');
    const ready = readyNameOfDelayed(b)!;
    assert.equal(parseMessageName(ready)?.enqueuedAt, 1_000);
    assert.equal(parseMessageName(ready)?.generation, 0);
    assert.ok(ready.startsWith('246'), `priority 9 kept: ${ready}`);
    assert.equal(readyNameOfDelayed(ready), undefined);
  });

  it('durable delayed messages survive a restart and are ready right after connect, with no consumer', async () => {
    const q = uniq('restart');
    const b1 = await open();
    await b1.declareQueue(q);
    for (let i = 0; i < 3; i++) await b1.publish('', q, msg(`r${i}`, 2), { delayMs: 200 });
    assert.equal(await b1.queueSize(q), 0, 'not ready while delayed');
    await b1.close();
    await sleep(300);
    const b2 = await open();
    try {
      assert.equal(await b2.queueSize(q), 3, 'moved by the on-connect pass');
      assert.deepEqual(readdirSync(b2.layout.delayed(q)), [], 'delayed/ is empty');
    } finally {
      await b2.deleteQueue(q);
      await b2.close();
    }
  });

  it('a queue declared before delayed/ existed gets it on the first delayed publish', async () => {
    const q = uniq('olddir');
    const b = await open();
    try {
      await b.declareQueue(q);
      rmdirSync(b.layout.delayed(q)); // as an older celeryts left it
      await b.publish('', q, msg('kept'), { delayMs: 60_000 });
      assert.equal(readdirSync(b.layout.delayed(q)).length, 1, 'held in delayed/, not dropped');
    } finally {
      await b.deleteQueue(q);
      await b.close();
    }
  });

  it('3000 delayed messages (past the in-memory window) arrive once each, none early, with two brokers racing to move them', { timeout: 15_000 }, async () => {
    const q = uniq('window');
    const pub = await open();
    const subs = [await open(), await open()];
    try {
      await pub.declareQueue(q, { durable: false });
      const got: Array<{ body: string; at: number }> = [];
      for (const s of subs) {
        await s.consume(q, { prefetch: 100 }, (d: Delivery) => {
          got.push({ body: d.body.toString(), at: Date.now() });
          d.ack();
        });
      }
      const n = 3000;
      const delays = Array.from({ length: n }, (_, i) => 100 + ((i * 7) % 1200));
      const sentAt = Date.now();
      await Promise.all(delays.map((delayMs, i) => pub.publish('', q, msg(String(i)), { delayMs })));
      await until(`${n} deliveries (have ${got.length})`, () => got.length >= n, 6000);
      await sleep(200);
      assert.equal(got.length, n, 'no duplicates');
      assert.equal(new Set(got.map((g) => g.body)).size, n, 'every message once');
      const early = got.filter((g) => g.at - sentAt < delays[Number(g.body)]!);
      assert.deepEqual(early.slice(0, 5), [], 'none early');
      assert.deepEqual(readdirSync(pub.layout.delayed(q)), [], 'delayed/ is empty');
    } finally {
      await pub.deleteQueue(q);
      for (const s of [...subs, pub]) await s.close();
    }
  });

  it('a consumer of another broker instance gets a delayed message on time (watcher, not the poll)', { timeout: 10_000 }, async (t) => {
    const q = uniq('ontime');
    const pub = await open();
    const sub = await open();
    try {
      await pub.declareQueue(q);
      const arrivals: number[] = [];
      await sub.consume(q, { prefetch: 10 }, (d) => {
        arrivals.push(Date.now());
        d.ack();
      });
      const late: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        await pub.publish('', q, msg(`t${i}`), { delayMs: 300 });
        await until(`delivery ${i}`, () => arrivals.length > i, 3000);
        late.push(arrivals[i]! - t0 - 300);
      }
      t.diagnostic(`lateness (ms): ${late.join(', ')}`);
      assert.ok(
        late.every((l) => l >= 0 && l < 250),
        `lateness ${late.join(', ')} ms`,
      );
    } finally {
      await pub.deleteQueue(q);
      await pub.close();
      await sub.close();
    }
  });
});
