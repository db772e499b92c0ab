/**
 * FileBroker: the shared conformance suite on a fresh temp directory, plus what only a file
 * broker must prove: several OS processes on one directory, kill -9 recovery, inotify wake-up
 * across processes, and durability across broker instances.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Broker, Delivery } from '../../src/core/broker.js';
import { FileBroker } from '../../src/transport/file/file-broker.js';
import { Liveness, SELF_OWNER } from '../../src/transport/file/owner.js';
import { runBrokerConformance } from '../support/broker-conformance.js';

const root = mkdtempSync(path.join(tmpdir(), 'celeryts-file-broker-'));
const scripts = mkdtempSync(path.join(tmpdir(), 'celeryts-file-child-'));
const url = `file://${root}`;
after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(scripts, { recursive: true, force: true });
});

runBrokerConformance('file', () => new FileBroker(url), { priority: true, exactDelay: true });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const uniq = (what: string): string => `ft.${what}.${randomBytes(4).toString('hex')}`;

// A consumer process: prints READY, then one JSON line per delivery. mode 'ack' acks, 'hold'
// never acks (to be killed with unacked deliveries). It can also declare an exclusive queue.
const CHILD = `
import { FileBroker } from ${JSON.stringify(new URL('../../src/transport/file/file-broker.ts', import.meta.url).href)};
const [url, queue, mode, prefetch, exclusiveQueue] = process.argv.slice(2);
const b = new FileBroker(url);
b.on('error', (e) => process.stderr.write(String(e.stack) + '\\n'));
await b.connect();
if (exclusiveQueue) await b.declareQueue(exclusiveQueue, { exclusive: true, durable: false });
await b.consume(queue, { prefetch: Number(prefetch) }, (d) => {
  process.stdout.write(JSON.stringify({ body: d.body.toString(), redelivered: d.redelivered, at: Date.now() }) + '\\n');
  if (mode === 'ack') d.ack();
});
process.stdout.write('READY\\n');
`;
const childScript = path.join(scripts, 'consumer-child.mts');
writeFileSync(childScript, CHILD);

interface Line {
  body: string;
  redelivered: boolean;
  at: number;
}

/** A child consumer process and what it printed. */
class Child {
  readonly lines: Line[] = [];
  private ready = false;
  private stderr = '';
  readonly proc: ChildProcess;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', childScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.proc.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'READY') this.ready = true;
        else this.lines.push(JSON.parse(line) as Line);
      }
    });
    this.proc.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  async until(what: string, cond: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) assert.fail(`child: ${what} not reached within ${ms} ms; stderr: ${this.stderr || '(empty)'}`);
      if (this.proc.exitCode !== null) assert.fail(`child exited (${this.proc.exitCode}) before ${what}; stderr: ${this.stderr}`);
      await sleep(10);
    }
  }

  waitReady(): Promise<void> {
    return this.until('READY', () => this.ready, 8000);
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await exited;
  }
}

async function open(): Promise<FileBroker> {
  const b = new FileBroker(url);
  b.on('error', () => {});
  await b.connect();
  return b;
}

describe('file broker specifics', { concurrency: false }, () => {
  it('two OS processes claiming from one queue get each message exactly once', { timeout: 20_000 }, async () => {
    const b = await open();
    const q = uniq('procs');
    await b.declareQueue(q);
    const children = [new Child([url, q, 'ack', '10']), new Child([url, q, 'ack', '10'])];
    try {
      await Promise.all(children.map((c) => c.waitReady()));
      const n = 300;
      await Promise.all(Array.from({ length: n }, (_, i) => b.publish('', q, { body: Buffer.from(String(i)), headers: {}, properties: {} })));
      const total = (): number => children.reduce((s, c) => s + c.lines.length, 0);
      await children[0]!.until(`${n} deliveries across both processes`, () => total() >= n, 5000);
      await sleep(200);
      const all = children.flatMap((c) => c.lines.map((l) => l.body));
      const dupes = all.filter((x, i) => all.indexOf(x) !== i);
      assert.deepEqual(dupes, [], 'duplicate deliveries across processes');
      assert.equal(new Set(all).size, n, 'every message delivered');
      assert.ok(
        children.every((c) => c.lines.length > 0),
        `both processes should claim some (got ${children.map((c) => c.lines.length).join(' / ')})`,
      );
    } finally {
      await Promise.all(children.map((c) => c.kill()));
      await b.deleteQueue(q);
      await b.close();
    }
  });

  it('unacked messages of a process killed with SIGKILL come back redelivered; its exclusive queue goes', { timeout: 20_000 }, async () => {
    const b = await open();
    const q = uniq('crash');
    const excl = uniq('crash-excl');
    await b.declareQueue(q);
    for (let i = 0; i < 5; i++) await b.publish('', q, { body: Buffer.from(`k${i}`), headers: {}, properties: { deliveryMode: 2 } });
    const child = new Child([url, q, 'hold', '10', excl]);
    try {
      await child.waitReady();
      await child.until('5 held deliveries', () => child.lines.length === 5, 3000);
      assert.equal(await b.queueSize(q), 0, 'the child holds everything');
      assert.equal(await b.queueSize(excl), 0, "the child's exclusive queue exists while it runs");
      const got: Delivery[] = [];
      await b.consume(q, { prefetch: 10 }, (d) => {
        got.push(d);
        d.ack();
      });
      await child.kill('SIGKILL');
      const killedAt = Date.now();
      while (got.length < 5 && Date.now() - killedAt < 5000) await sleep(20);
      assert.deepEqual(got.map((d) => d.body.toString()).sort(), ['k0', 'k1', 'k2', 'k3', 'k4'], 'messages held by the killed process');
      assert.ok(
        got.every((d) => d.redelivered),
        'recovered messages must be redelivered=true',
      );
      const deadline = Date.now() + 4000;
      while ((await b.queueSize(excl)) !== undefined && Date.now() < deadline) await sleep(50);
      assert.equal(await b.queueSize(excl), undefined, "a dead process's exclusive queue is removed");
    } finally {
      await child.kill('SIGKILL');
      await b.deleteQueue(q);
      await b.close();
    }
  });

  it("closing a broker that redeclared another live process's exclusive queue leaves that queue alone", { timeout: 20_000 }, async () => {
    const b = await open();
    const q = uniq('excl-other');
    const excl = uniq('excl-other-x');
    await b.declareQueue(q);
    const child = new Child([url, q, 'ack', '1', excl]);
    try {
      await child.waitReady();
      const other = await open();
      await other.declareQueue(excl, { exclusive: true, durable: false }); // the child owns it
      await other.close();
      assert.equal(await b.queueSize(excl), 0, 'still there: it is the live child process that owns it');
    } finally {
      await child.kill('SIGKILL');
      await b.deleteQueue(q);
      await b.close();
    }
  });

  it('connect() itself recovers the claims of a process that died while nobody was connected', { timeout: 20_000 }, async () => {
    const q = uniq('connect-recover');
    const b1 = await open();
    await b1.declareQueue(q);
    await b1.publish('', q, { body: Buffer.from('a'), headers: {}, properties: {} });
    await b1.publish('', q, { body: Buffer.from('b'), headers: {}, properties: {} });
    await b1.close();
    const child = new Child([url, q, 'hold', '10']);
    try {
      await child.waitReady();
      await child.until('2 held deliveries', () => child.lines.length === 2, 3000);
      await child.kill('SIGKILL');
    } finally {
      await child.kill('SIGKILL');
    }
    const b2 = await open();
    try {
      assert.equal(await b2.queueSize(q), 2, 'ready again right after connect()');
    } finally {
      await b2.deleteQueue(q);
      await b2.close();
    }
  });

  it('tells a dead owner from a live one, including a reused pid and a stale lease', {
    timeout: 10_000,
    skip: process.platform !== 'linux' && 'reads /proc',
  }, async () => {
    const ownersDir = mkdtempSync(path.join(root, 'owners-'));
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      const liveness = new Liveness(ownersDir);
      const pid = sleeper.pid!;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const startTicks = fields.slice(fields.lastIndexOf(')') + 2).split(' ')[19]!;
      assert.equal(await liveness.isAlive(SELF_OWNER), true, 'this process');
      assert.equal(await liveness.isAlive(`${pid}-${startTicks}`), true, 'a live process with its real start time');
      assert.equal(await liveness.isAlive(`${pid}-${Number(startTicks) + 1}`), false, 'same pid, other start time = a reused pid');
      assert.equal(await liveness.isAlive(`${process.pid}-1`), false, 'our pid with another start time = an earlier run');
      assert.equal(await liveness.isAlive(`${pid}-tabc`), false, 'lease-style owner without a lease file');
      writeFileSync(path.join(ownersDir, `${pid}-tabc`), '');
      assert.equal(await liveness.isAlive(`${pid}-tabc`), true, 'lease-style owner with a fresh lease');
      const old = new Date(Date.now() - 120_000);
      utimesSync(path.join(ownersDir, `${pid}-tabc`), old, old);
      assert.equal(await liveness.isAlive(`${pid}-tabc`), false, 'lease-style owner with a stale lease');
      const exited = new Promise((r) => sleeper.once('exit', r));
      sleeper.kill('SIGKILL');
      await exited;
      assert.equal(await liveness.isAlive(`${pid}-${startTicks}`), false, 'after the process exited');
    } finally {
      sleeper.kill('SIGKILL');
      rmSync(ownersDir, { recursive: true, force: true });
    }
  });

  it('an idle consumer in another process wakes up quickly (inotify, not the 1 s poll)', { timeout: 20_000 }, async (t) => {
    const b = await open();
    const q = uniq('wake');
    await b.declareQueue(q);
    const child = new Child([url, q, 'ack', '1']);
    try {
      await child.waitReady();
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        await sleep(150); // idle between messages
        const t0 = Date.now();
        await b.publish('', q, { body: Buffer.from(`w${i}`), headers: {}, properties: {} });
        await child.until(`delivery ${i}`, () => child.lines.length > i, 3000);
        latencies.push(child.lines[i]!.at - t0);
      }
      const worst = Math.max(...latencies);
      t.diagnostic(`wake-up latencies (ms): ${latencies.join(', ')}`);
      assert.ok(worst < 500, `cross-process wake-up latencies ${latencies.join(', ')} ms; must stay < 500 (goal ~50)`);
    } finally {
      await child.kill();
      await b.deleteQueue(q);
      await b.close();
    }
  });

  it('a durable message survives closing the broker and opening a new one', async () => {
    const q = uniq('durable');
    const b1 = await open();
    await b1.declareQueue(q, { durable: true });
    await b1.publish('', q, { body: Buffer.from('persist me'), headers: { a: 1 }, properties: { deliveryMode: 2 } });
    await b1.close();
    const b2: Broker = await open();
    try {
      assert.equal(await b2.queueSize(q), 1, 'message still queued after close');
      const got: Delivery[] = [];
      await b2.consume(q, { prefetch: 1 }, (d) => {
        got.push(d);
        d.ack();
      });
      const deadline = Date.now() + 1000;
      while (got.length === 0 && Date.now() < deadline) await sleep(10);
      assert.equal(got[0]?.body.toString(), 'persist me');
      assert.equal(got[0]?.headers['a'], 1);
    } finally {
      await b2.deleteQueue(q);
      await b2.close();
    }
  });

  it('a publisher sees a binding another broker instance made just before', async () => {
    const b1 = await open();
    const b2 = await open();
    const ex = uniq('xbind');
    const q1 = uniq('xb1');
    const q2 = uniq('xb2');
    try {
      await b1.declareExchange(ex, 'direct');
      await b1.declareQueue(q1);
      await b1.declareQueue(q2);
      await b1.bindQueue(q1, ex, 'k');
      await b1.publish(ex, 'k', { body: Buffer.from('1'), headers: {}, properties: {} }); // warms b1's binding cache
      await b2.bindQueue(q2, ex, 'k');
      await b1.publish(ex, 'k', { body: Buffer.from('2'), headers: {}, properties: {} });
      assert.equal(await b1.queueSize(q1), 2, 'q1');
      assert.equal(await b1.queueSize(q2), 1, 'q2 bound by the other instance must get the second message');
    } finally {
      await b1.deleteQueue(q1);
      await b1.deleteQueue(q2);
      await b1.close();
      await b2.close();
    }
  });

  it('stores a message as one JSON envelope line followed by the raw body bytes', async () => {
    const b = await open();
    const q = uniq('format');
    try {
      await b.declareQueue(q);
      const body = Buffer.from([0xde, 0xad, 0x0a, 0xbe, 0xef]);
      await b.publish('', q, { body, headers: { task: 't' }, properties: { contentType: 'application/x-raw' } });
      const ready = b.layout.ready(q);
      const [file] = readdirSync(ready);
      assert.ok(file, 'one message file in ready/');
      const bytes = readFileSync(path.join(ready, file));
      const nl = bytes.indexOf(0x0a);
      const envelope = JSON.parse(bytes.subarray(0, nl).toString()) as { headers: { task: string }; routingKey: string };
      assert.equal(envelope.headers.task, 't');
      assert.equal(envelope.routingKey, q);
      assert.ok(bytes.subarray(nl + 1).equals(body), 'raw body bytes after the envelope line');
    } finally {
      await b.deleteQueue(q);
      await b.close();
    }
  });
});
