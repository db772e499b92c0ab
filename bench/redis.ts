/**
 * Drain rates on Redis, in one run: celeryts (early and late acks), BullMQ (no-op processor,
 * same concurrency) and Python Celery (prefork, -c 2), with ratios; and the celeryts worker's
 * peak RSS draining 100,000. Usage: `npm run bench:redis -- [--n 20000] [--rss-n 100000]
 * [--py-n 4000] [--only early,late,bullmq,python,rss] [--broker redis://127.0.0.1:6379/3]
 * [--rounds 3] [--variant NAME=DIR]... [--cpu-prof DIR]`. `--rounds`: every drain once per round,
 * interleaved, medians reported; `--variant`: early and rss drains by another built checkout
 * (e.g. the last commit) in the same rounds; `--cpu-prof`: a V8 CPU profile of each celeryts
 * worker in DIR/<kind>, for bench/profile-summary.ts.
 * Each drain: a fresh queue filled before the consumer starts with [mark(start), noop x N,
 * mark(end)]; the rate is N over the time between the two markers.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
    rounds: { type: 'string', default: '1' },
    variant: { type: 'string', multiple: true },
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
const profile = (label: string) => (profDir ? ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${path.join(profDir, label)}`] : []);
/** A celeryts worker of checkout `root` (this one by default); `label` names its profile folder. */
const celeryts = (label: string, q: string, extra: string[], root = REPO): Launch => ({
  cmd: process.execPath,
  args: [
    ...profile(label),
    path.join(root, 'bin', 'celeryts.js'),
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
const rn = Number(values['rss-n']);
const pn = Number(values['py-n']);
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const ASYNC = ['-c', '100', '--prefetch-multiplier', '5'];

/** One row of the table: a drain run once per round. */
interface Kind {
  key: string;
  label: string;
  n: number;
  fill: (q: string, marks: [string, string]) => Promise<void>;
  launch: (q: string) => Launch;
}
const kinds: Kind[] = [];
const celeryFill = (count: number) => (q: string, m: [string, string]) => fillCelery(q, count, m);
if (only.has('early'))
  kinds.push({
    key: 'early',
    label: 'celeryts early ack (-c 100 --prefetch-multiplier 5)',
    n,
    fill: celeryFill(n),
    launch: (q) => celeryts('early', q, ASYNC),
  });
if (only.has('late'))
  kinds.push({
    key: 'late',
    label: 'celeryts --acks-late (-c 100 --prefetch-multiplier 5)',
    n,
    fill: celeryFill(n),
    launch: (q) => celeryts('late', q, [...ASYNC, '--acks-late']),
  });
if (only.has('bullmq'))
  kinds.push({
    key: 'bullmq',
    label: 'BullMQ worker (concurrency 100, no-op)',
    n,
    fill: (q, m) => fillBull(q, n, m),
    launch: (q) => ({ cmd: process.execPath, args: ['--import', 'tsx', path.join(HERE, 'bullmq-worker.ts'), url, q, '100'] }),
  });
if (only.has('python'))
  kinds.push({
    key: 'python',
    label: `Python Celery prefork -c 2 (N = ${fmt(pn)})`,
    n: pn,
    fill: celeryFill(pn),
    launch: (q) => ({
      cmd: '/usr/bin/python3',
      args: ['-m', 'celery', '-A', 'proj', 'worker', '-Q', q, '-c', '2', '-l', 'INFO'],
      cwd: path.join(REPO, 'test', 'interop', 'py'),
      env: { BROKER_URL: url },
    }),
  });
if (only.has('rss'))
  kinds.push({
    key: 'rss',
    label: `celeryts worker peak RSS draining ${fmt(rn)} (defaults)`,
    n: rn,
    fill: celeryFill(rn),
    launch: (q) => celeryts('rss', q, []),
  });
// Another build (e.g. the last commit, built, with this bench/ in it) next to this one, round by round.
for (const spec of values.variant ?? []) {
  const [name, dir] = spec.split('=');
  const root = dir ? path.resolve(dir) : '';
  if (!name || !existsSync(path.join(root, 'bin', 'celeryts.js'))) throw new Error(`--variant ${spec}: want NAME=DIR with a built celeryts checkout in DIR`);
  if (only.has('early'))
    kinds.push({
      key: `early-${name}`,
      label: `celeryts early ack, ${name}`,
      n,
      fill: celeryFill(n),
      launch: (q) => celeryts(`early-${name}`, q, ASYNC, root),
    });
  if (only.has('rss'))
    kinds.push({
      key: `rss-${name}`,
      label: `celeryts worker draining ${fmt(rn)} (defaults), ${name}`,
      n: rn,
      fill: celeryFill(rn),
      launch: (q) => celeryts(`rss-${name}`, q, [], root),
    });
}

const rounds = Number(values.rounds);
const results = new Map<string, Drain[]>();
try {
  for (let round = 1; round <= rounds; round++)
    for (const k of kinds) {
      const d = await drain(k.key.replace(/[^a-z0-9]/gi, ''), k.n, k.fill, k.launch);
      results.set(k.key, [...(results.get(k.key) ?? []), d]);
      process.stderr.write(
        `[bench] round ${round} ${k.key}: ${fmt(d.rate)} tasks/s, ${d.cpuUsPerTask.toFixed(1)} µs CPU/task, peak RSS ${d.peakRssMb.toFixed(1)} MB\n`,
      );
    }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const median = (xs: number[]) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};
const summary = new Map(
  [...results].map(([key, ds]) => [
    key,
    { rate: median(ds.map((d) => d.rate)), cpuUsPerTask: median(ds.map((d) => d.cpuUsPerTask)), rss: ds.map((d) => d.peakRssMb) },
  ]),
);
const bull = summary.get('bullmq')?.rate;
const py = summary.get('python')?.rate;
console.log(`\nRedis ${url}, N = ${fmt(n)}, ${rounds} round(s): medians (peak RSS: every round)\n`);
console.log('| measurement | tasks/s | x BullMQ | x Python Celery | consumer CPU µs/task | peak RSS |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const k of kinds) {
  const d = summary.get(k.key);
  if (!d) continue;
  const ratio = (base: number | undefined) => (base ? (d.rate / base).toFixed(2) : '');
  const rss = `${d.rss.map((r) => r.toFixed(1)).join(', ')} MB${d.rss.length > 1 ? ` (median ${median(d.rss).toFixed(1)})` : ''}`;
  console.log(`| ${k.label} | ${fmt(d.rate)} | ${ratio(bull)} | ${ratio(py)} | ${d.cpuUsPerTask.toFixed(1)} | ${rss} |`);
}
