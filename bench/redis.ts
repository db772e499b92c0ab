/**
 * Drain rates on Redis, in one run: celeryts (early and late acks), BullMQ (no-op processor,
 * same concurrency) and Python Celery (prefork, -c 2), with ratios; and the celeryts worker's
 * peak RSS draining 100,000. Usage: `npm run bench:redis -- [--n 20000] [--rss-n 100000]
 * [--py-n 4000] [--only early,late,bullmq,python,rss] [--broker redis://127.0.0.1:6379/3] [--cpu-prof DIR]`
 * (`--cpu-prof`: a V8 CPU profile of each celeryts worker in DIR/<kind>, for bench/profile-summary.ts).
 * Each drain: a fresh queue filled before the consumer starts with [mark(start), noop x N,
 * mark(end)]; the rate is N over the time between the two markers.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { encodeTask } from '../src/core/wire/task.js';
import { createRedisBroker } from '../src/transport/redis/redis-broker.js';
import { waitMark } from './lib/marks.js';
import { cpuMs, exitedReason, rssMb, startLogged, stopChild, type Launch } from './lib/procs.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: process.env['BENCH_N'] ?? '20000' },
    'rss-n': { type: 'string', default: '100000' },
    'py-n': { type: 'string', default: '4000' },
    only: { type: 'string', default: 'early,late,bullmq,python,rss' },
    'cpu-prof': { type: 'string' },
    broker: { type: 'string', default: process.env['CELERYTS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/15' },
  },
});
const url = values.broker!;
const only = new Set(values.only!.split(','));
const work = mkdtempSync(path.join(tmpdir(), 'celeryts-bench-redis-'));

async function fillCelery(queue: string, n: number, marks: [string, string]): Promise<void> {
  const b = createRedisBroker(url);
  await b.connect();
  await b.declareQueue(queue);
  const send = (task: string, args: unknown[]) => b.publish('', queue, encodeTask({ id: randomUUID(), task, args }));
  await send('bench.mark', [marks[0]]);
  for (let i = 0; i < n; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, n - i) }, () => send('bench.noop', [])));
  await send('bench.mark', [marks[1]]);
  await b.close();
}

async function fillBull(queue: string, n: number, marks: [string, string]): Promise<void> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const q = new Queue(queue, { connection });
  await q.add('mark', { path: marks[0] });
  for (let i = 0; i < n; i += 1000) await q.addBulk(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'noop', data: {} })));
  await q.add('mark', { path: marks[1] });
  await q.close();
  connection.disconnect();
}

interface Drain {
  rate: number;
  cpuUsPerTask: number;
  peakRssMb: number;
}

async function drain(kind: string, n: number, fill: (q: string, marks: [string, string]) => Promise<void>, launch: (q: string) => Launch): Promise<Drain> {
  const queue = `bench.${kind}.${randomUUID().slice(0, 8)}`;
  const marks: [string, string] = [path.join(work, `${queue}.start`), path.join(work, `${queue}.end`)];
  await fill(queue, marks);
  const log = path.join(work, `${kind}.log`);
  const child = startLogged(launch(queue), log, REPO);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(child.pid!))), 50);
  try {
    const start = await waitMark(marks[0], 60_000, exitedReason(child, log));
    const cpu0 = cpuMs(child.pid!);
    const end = await waitMark(marks[1], 600_000, exitedReason(child, log));
    const cpu1 = cpuMs(child.pid!);
    return { rate: n / ((end - start) / 1000), cpuUsPerTask: ((cpu1 - cpu0) * 1000) / n, peakRssMb: peak };
  } finally {
    clearInterval(sampler);
    await stopChild(child);
    const r = new Redis(url);
    const keys = await r.keys(`*${queue}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  }
}

const profDir = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined;
const profile = (kind: string) => (profDir ? ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${path.join(profDir, kind)}`] : []);
const celeryts = (q: string, extra: string[]): Launch => ({
  cmd: process.execPath,
  args: [
    ...profile(q.split('.')[1]!),
    path.join(REPO, 'bin', 'celeryts.js'),
    'worker',
    '--config',
    path.join(HERE, 'celeryts.config.ts'),
    '-Q',
    q,
    '-n',
    `bench-${q}@%h`,
    ...extra,
  ],
  env: { CELERYTS_BROKER_URL: url },
});

const n = Number(values.n);
const rows: Array<[string, Drain | undefined, string]> = [];
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
try {
  if (only.has('early'))
    rows.push([
      'celeryts early ack (-c 100 --prefetch-multiplier 5)',
      await drain(
        'early',
        n,
        (q, m) => fillCelery(q, n, m),
        (q) => celeryts(q, ['-c', '100', '--prefetch-multiplier', '5']),
      ),
      'early',
    ]);
  if (only.has('late'))
    rows.push([
      'celeryts --acks-late (-c 100 --prefetch-multiplier 5)',
      await drain(
        'late',
        n,
        (q, m) => fillCelery(q, n, m),
        (q) => celeryts(q, ['-c', '100', '--prefetch-multiplier', '5', '--acks-late']),
      ),
      'late',
    ]);
  if (only.has('bullmq'))
    rows.push([
      'BullMQ worker (concurrency 100, no-op)',
      await drain(
        'bullmq',
        n,
        (q, m) => fillBull(q, n, m),
        (q) => ({ cmd: process.execPath, args: ['--import', 'tsx', path.join(HERE, 'bullmq-worker.ts'), url, q, '100'] }),
      ),
      'bullmq',
    ]);
  if (only.has('python')) {
    const pn = Number(values['py-n']);
    rows.push([
      `Python Celery prefork -c 2 (N = ${fmt(pn)})`,
      await drain(
        'python',
        pn,
        (q, m) => fillCelery(q, pn, m),
        (q) => ({
          cmd: '/usr/bin/python3',
          args: ['-m', 'celery', '-A', 'proj', 'worker', '-Q', q, '-c', '2', '-l', 'INFO'],
          cwd: path.join(REPO, 'test', 'interop', 'py'),
          env: { BROKER_URL: url },
        }),
      ),
      'python',
    ]);
  }
  if (only.has('rss')) {
    const rn = Number(values['rss-n']);
    rows.push([
      `celeryts worker peak RSS draining ${fmt(rn)} (defaults)`,
      await drain(
        'rss',
        rn,
        (q, m) => fillCelery(q, rn, m),
        (q) => celeryts(q, []),
      ),
      'rss',
    ]);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const bull = rows.find((r) => r[2] === 'bullmq')?.[1]?.rate;
const py = rows.find((r) => r[2] === 'python')?.[1]?.rate;
console.log(`\nRedis ${url}, N = ${fmt(n)}\n`);
console.log('| measurement | tasks/s | x BullMQ | x Python Celery | consumer CPU µs/task | peak RSS |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [label, d] of rows) {
  if (!d) continue;
  const ratio = (base: number | undefined) => (base ? (d.rate / base).toFixed(2) : '');
  console.log(`| ${label} | ${fmt(d.rate)} | ${ratio(bull)} | ${ratio(py)} | ${d.cpuUsPerTask.toFixed(1)} | ${d.peakRssMb.toFixed(1)} MB |`);
}
