/**
 * `npm run bench`: celeryts against a bare amqplib consumer, celery-node and Python Celery, in
 * one run on one RabbitMQ, so the ratios mean something on a noisy machine.
 *
 * Every drain is measured the same way: a fresh queue is filled (before the consumer starts)
 * with [mark(start), noop x N, mark(end)] as protocol v2 messages; the consumer is started in a
 * process of its own; the two markers record when they ran (see lib/marks.ts); the rate is
 * N / (end - start). The consumer's and RabbitMQ's CPU time over the same interval are charged
 * per task. Then the consumer gets SIGTERM, the queue must be empty (every message acked), and
 * the queue is deleted. Rounds are interleaved (bare, celery-node, celeryts..., then again) and
 * each figure is the median of its rounds.
 *
 *   node --import tsx bench/run.ts [--n 40000] [--rss-n 100000] [--rounds 3] [--calls 2000]
 *     [--only bare,celery-node,early,late,threads,python,e2e,e2e-redis,rss,cold] [--loglevel info]
 *     [--result-backend redis://127.0.0.1:6379/14]
 *     [--variant NAME=DIR]... [--cpu-prof DIR] [--broker URL] [--keep-logs]
 * (env: BENCH_N, BENCH_RSS_N, BENCH_ROUNDS, BENCH_BROKER_URL)
 *
 * --variant adds an early-ack drain by another celeryts checkout (built, with this bench/ in
 * it), e.g. the last commit, to compare builds in one run.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BenchAmqp } from './lib/amqp.js';
import { waitMark } from './lib/marks.js';
import { cpuMs, exitedReason, listenerPid, rssMb, startLogged, stopChild, tail, type Launch } from './lib/procs.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const PY = '/usr/bin/python3';
const PY_PROJ = path.join(ROOT, 'test', 'interop', 'py');

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string' },
    'rss-n': { type: 'string' },
    rounds: { type: 'string' },
    calls: { type: 'string' },
    only: { type: 'string' },
    variant: { type: 'string', multiple: true },
    'cpu-prof': { type: 'string' },
    broker: { type: 'string' },
    'result-backend': { type: 'string' },
    loglevel: { type: 'string' },
    'keep-logs': { type: 'boolean' },
  },
});
const N = Number(flags.n ?? process.env['BENCH_N'] ?? 40_000);
const RSS_N = Number(flags['rss-n'] ?? process.env['BENCH_RSS_N'] ?? 100_000);
const ROUNDS = Number(flags.rounds ?? process.env['BENCH_ROUNDS'] ?? 3);
const CALLS = Number(flags.calls ?? 2000);
const URL_ = flags.broker ?? process.env['BENCH_BROKER_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const ONLY = new Set<string>((flags.only ?? 'bare,celery-node,early,late,threads,python,e2e,e2e-redis,rss,cold').split(','));
/** The Redis result backend of the e2e-redis run (results expire after 10 minutes: bench/celeryts.config.ts). */
const REDIS_RESULTS = flags['result-backend'] ?? process.env['BENCH_RESULT_BACKEND'] ?? 'redis://127.0.0.1:6379/14';
/** The celeryts workers' log level (Celery logs every task received and succeeded at info). */
const LOG_LEVEL = flags.loglevel ?? 'info';
const RUN = randomBytes(3).toString('hex');
const WORK = mkdtempSync(path.join(tmpdir(), `celeryts-bench-${RUN}-`));
const NPROC = cpus().length;
const BROKER_PID = listenerPid(URL_);

/** Worker settings for the async pool: prefetch 500, the bare consumer's. */
const ASYNC = ['-c', '100', '--prefetch-multiplier', '5'];
/** The thread pool: a thread per CPU, prefetch 500 too. */
const THREADS = ['-P', 'threads', '-c', String(NPROC), '--prefetch-multiplier', String(Math.ceil(500 / NPROC))];

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** A celeryts worker from checkout `root` (this one by default), through its CLI. */
function celerytsWorker(label: string, queue: string, extra: string[], root = ROOT): Launch {
  const prof = flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${path.join(path.resolve(flags['cpu-prof']), label)}`] : [];
  const cli = path.join(root, 'bin', 'celeryts.js');
  const config = path.join(root, 'bench', 'celeryts.config.ts');
  return {
    cmd: process.execPath,
    args: [...prof, cli, 'worker', '--config', config, '-b', URL_, '-Q', queue, '-n', `bench-${label}-${RUN}@%h`, '-l', LOG_LEVEL, ...extra],
  };
}

/** One kind of drain: a row of the table. */
interface DrainKind {
  key: string;
  label: string;
  launch: (queue: string) => Launch;
  /** The consumer's CPU is not the work's (Python's prefork children do it). */
  hideCpu?: boolean;
  target?: string;
  met?: (rate: number, rateOf: (key: string) => number | undefined) => boolean;
}

function drainKinds(pyVersion: string | undefined): DrainKind[] {
  const kinds: DrainKind[] = [
    {
      key: 'bare',
      label: 'bare amqplib consumer (prefetch 500, ack each)',
      launch: (q) => ({ cmd: process.execPath, args: ['--import', 'tsx', path.join(ROOT, 'bench', 'bare-consumer.ts'), URL_, q, '500'] }),
    },
    {
      key: 'celery-node',
      label: 'celery-node 0.5.9 (acks before running, no prefetch bound)',
      launch: (q) => ({ cmd: process.execPath, args: ['--import', 'tsx', path.join(ROOT, 'bench', 'celery-node-worker.ts'), URL_, q] }),
    },
    {
      key: 'early',
      label: `celeryts early ack (${ASYNC.join(' ')})`,
      launch: (q) => celerytsWorker('early', q, ASYNC),
      target: '>= 1.0 x bare, >= celery-node',
      met: (r, rateOf) => r >= rateOf('bare')! && r >= (rateOf('celery-node') ?? 0),
    },
    {
      key: 'late',
      label: `celeryts --acks-late (${ASYNC.join(' ')})`,
      launch: (q) => celerytsWorker('late', q, [...ASYNC, '--acks-late']),
      target: '>= 0.8 x bare',
      met: (r, rateOf) => r >= 0.8 * rateOf('bare')!,
    },
    { key: 'threads', label: `celeryts ${THREADS.join(' ')}`, launch: (q) => celerytsWorker('threads', q, THREADS) },
    {
      key: 'python',
      label: `Python Celery prefork -c ${NPROC} (prefetch ${NPROC * 4})`,
      hideCpu: true,
      launch: (q) => ({
        cmd: PY,
        args: ['-m', 'celery', '-A', 'proj', 'worker', '-Q', q, '-n', `bench-py-${RUN}@%h`, '-c', String(NPROC), '-P', 'prefork', '-l', 'INFO'],
        cwd: PY_PROJ,
        env: { BROKER_URL: URL_, QUEUE: q },
      }),
    },
  ];
  for (const spec of flags.variant ?? []) {
    const [name = '', dir = ''] = spec.split('=');
    const root = path.resolve(dir);
    if (!name || !existsSync(path.join(root, 'bin', 'celeryts.js'))) throw new Error(`--variant ${spec}: want NAME=DIR with a built celeryts checkout in DIR`);
    kinds.push({ key: `variant:${name}`, label: `celeryts early ack, ${name}`, launch: (q) => celerytsWorker(`v-${name}`, q, ASYNC, root) });
  }
  if (ONLY.has('python') && !pyVersion) log('python3-celery is not installed: skipping Python Celery');
  return kinds.filter((k) => (ONLY.has(k.key) || k.key.startsWith('variant:')) && (k.key !== 'python' || pyVersion));
}

interface DrainResult {
  rate: number;
  /** Consumer CPU per task in µs while draining (less noisy than the rate on a shared machine). */
  cpuUs: number;
  /** RabbitMQ's CPU per task in µs over the same interval (NaN when it is not visible). */
  brokerUs: number;
  peakRssMb: number;
}

/** Fill a fresh queue, start the consumer, time the markers, stop it, check and delete the queue. */
async function drain(amqp: BenchAmqp, label: string, n: number, launch: (queue: string) => Launch): Promise<DrainResult> {
  const queue = `bench.${RUN}.${label.replace(/[^a-z0-9-]/gi, '-')}`;
  const startMark = path.join(WORK, `${label}.start`);
  const endMark = path.join(WORK, `${label}.end`);
  const logFile = path.join(WORK, `${label}.log`);
  rmSync(startMark, { force: true });
  rmSync(endMark, { force: true });
  await amqp.remove(queue);
  await amqp.fill(queue, n, startMark, endMark);
  await sleep(300); // let the broker settle after the fill
  const child = startLogged(launch(queue), logFile, ROOT);
  let peakRssMb = 0;
  const sampler = setInterval(() => {
    if (child.pid) peakRssMb = Math.max(peakRssMb, rssMb(child.pid));
  }, 50);
  try {
    const failed = exitedReason(child, logFile);
    const t0 = await waitMark(startMark, 60_000, failed);
    const [cpu0, broker0] = [cpuMs(child.pid!), BROKER_PID ? cpuMs(BROKER_PID) : NaN];
    const t1 = await waitMark(endMark, 60_000 + n, failed);
    const [cpu1, broker1] = [cpuMs(child.pid!), BROKER_PID ? cpuMs(BROKER_PID) : NaN];
    clearInterval(sampler);
    await sleep(300); // a consumer without a warm shutdown (celery-node) gets to flush its acks
    const code = await stopChild(child);
    if (code !== 0 && code !== 'SIGTERM') log(`${label}: consumer exited with ${code}; see ${logFile}`);
    const left = await amqp.size(queue);
    if (left !== 0) log(`${label}: ${left} messages left in the queue after the consumer stopped`);
    return { rate: n / ((t1 - t0) / 1000), cpuUs: ((cpu1 - cpu0) * 1000) / n, brokerUs: ((broker1 - broker0) * 1000) / n, peakRssMb };
  } finally {
    clearInterval(sampler);
    await stopChild(child);
    await amqp.remove(queue);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface EndToEnd {
  e2eRate: number;
  p50: number;
  p99: number;
  calls: number;
}

/**
 * End-to-end with results awaited and warm round trips (bench/client.ts), against an early-ack
 * worker: through rpc:// by default, or through the Redis result backend `resultBackend`.
 */
async function endToEnd(amqp: BenchAmqp, resultBackend = 'rpc://'): Promise<EndToEnd> {
  const label = resultBackend.startsWith('rpc') ? 'e2e' : 'e2e-redis';
  const queue = `bench.${RUN}.${label}`;
  const logFile = path.join(WORK, `${label}-worker.log`);
  const child = startLogged(celerytsWorker(label, queue, [...ASYNC, '--result-backend', resultBackend]), logFile, ROOT);
  try {
    // The client's first (warm-up) calls wait for the worker to be up.
    const args = [path.join(ROOT, 'bench', 'client.ts'), URL_, queue, String(N), String(CALLS), resultBackend];
    const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (r.status !== 0) throw new Error(`client failed (${r.status}): ${r.stderr}\nworker log ${logFile}:\n${tail(logFile)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as EndToEnd;
  } finally {
    await stopChild(child);
    await amqp.remove(queue);
  }
}

/** `celeryts call` from a cold start (a new node process each time), without --wait. */
async function coldCall(amqp: BenchAmqp, runs: number): Promise<{ median: number; min: number }> {
  const queue = `bench.${RUN}.cold`;
  const config = path.join(ROOT, 'bench', 'celeryts.config.ts');
  const once = (): number => {
    const t = performance.now();
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'celeryts.js'), 'call', 'bench.noop', '--config', config, '-b', URL_, '-Q', queue], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const ms = performance.now() - t;
    if (r.status !== 0) throw new Error(`celeryts call failed (${r.status}): ${r.stderr}`);
    return ms;
  };
  once(); // page cache and the queue declaration
  const times = Array.from({ length: runs }, once);
  await amqp.remove(queue);
  return { median: median(times), min: Math.min(...times) };
}

const fmtRate = (x: number | undefined) => (x === undefined ? 'n/a' : Math.round(x).toLocaleString('en-US'));
const fmtRatio = (x: number | undefined, base: number | undefined) => (x === undefined || !base ? 'n/a' : (x / base).toFixed(2));
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

function pythonCeleryVersion(): string | undefined {
  if (!existsSync(PY)) return undefined;
  const r = spawnSync(PY, ['-m', 'celery', '--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

async function main(): Promise<void> {
  const amqp = await BenchAmqp.open(URL_);
  const pyVersion = pythonCeleryVersion();
  log(`run ${RUN}: N=${N}, RSS N=${RSS_N}, rounds=${ROUNDS}, logs in ${WORK}`);
  const header = [
    `machine: ${NPROC} CPUs (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, RabbitMQ ${amqp.serverVersion}, ${pyVersion ? `Python Celery ${pyVersion}` : 'no Python Celery'}`,
    `N=${N} no-op tasks per drain, median of ${ROUNDS} interleaved rounds; celeryts worker log level ${LOG_LEVEL} (logs to a file)`,
  ];

  const kinds = drainKinds(pyVersion);
  const results = new Map<string, DrainResult[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const kind of kinds) {
      const r = await drain(amqp, kind.key, N, kind.launch);
      results.set(kind.key, [...(results.get(kind.key) ?? []), r]);
      log(
        `round ${round} ${kind.key}: ${fmtRate(r.rate)} tasks/s, ${r.cpuUs.toFixed(1)} µs CPU/task, RabbitMQ ${r.brokerUs.toFixed(1)} µs/task, peak RSS ${r.peakRssMb.toFixed(0)} MB`,
      );
    }
  }
  const med = (key: string, pick: (r: DrainResult) => number) => (results.has(key) ? median(results.get(key)!.map(pick)) : undefined);
  const rateOf = (key: string) => med(key, (r) => r.rate);
  const bare = rateOf('bare');

  const e2e = ONLY.has('e2e') ? await endToEnd(amqp) : undefined;
  if (e2e) log(`end-to-end: ${fmtRate(e2e.e2eRate)} tasks/s, round trip p50 ${e2e.p50.toFixed(3)} ms, p99 ${e2e.p99.toFixed(3)} ms`);
  const e2eRedis = ONLY.has('e2e-redis') ? await endToEnd(amqp, REDIS_RESULTS) : undefined;
  if (e2eRedis)
    log(`end-to-end, Redis results: ${fmtRate(e2eRedis.e2eRate)} tasks/s, round trip p50 ${e2eRedis.p50.toFixed(3)} ms, p99 ${e2eRedis.p99.toFixed(3)} ms`);
  // Peak RSS with the worker's defaults (concurrency = CPUs, prefetch 4 per slot), as a user
  // starts it, and with the drains' 100 slots and 500 prefetched messages.
  const rssRuns = ONLY.has('rss')
    ? [
        { label: 'defaults', args: [] as string[] },
        { label: ASYNC.join(' '), args: ASYNC },
      ]
    : [];
  const rss: { label: string; r: DrainResult }[] = [];
  for (const { label, args } of rssRuns) {
    const r = await drain(amqp, 'rss', RSS_N, (q) => celerytsWorker('rss', q, args));
    log(`rss (${label}): peak ${r.peakRssMb.toFixed(1)} MB draining ${RSS_N} at ${fmtRate(r.rate)} tasks/s`);
    rss.push({ label, r });
  }
  const cold = ONLY.has('cold') ? await coldCall(amqp, 10) : undefined;
  if (cold) log(`cold call: median ${cold.median.toFixed(0)} ms, min ${cold.min.toFixed(0)} ms`);
  await amqp.close();

  const rows: string[][] = [];
  for (const k of kinds) {
    const r = rateOf(k.key)!;
    const cpu = k.hideCpu ? '' : med(k.key, (x) => x.cpuUs)!.toFixed(1);
    const broker = med(k.key, (x) => x.brokerUs)!;
    const ok = k.met && bare ? verdict(k.met(r, rateOf)) : '';
    rows.push([k.label, `${fmtRate(r)} tasks/s`, fmtRatio(r, bare), cpu, Number.isNaN(broker) ? '' : broker.toFixed(1), k.target ?? '', ok]);
  }
  /** Two rows per end-to-end run: throughput against bare, then the warm round trip. */
  const e2eRows = (e: EndToEnd, label: string, ratio: number, tripLabel: string, tripTarget: boolean) => {
    rows.push([
      label,
      `${fmtRate(e.e2eRate)} tasks/s`,
      fmtRatio(e.e2eRate, bare),
      '',
      '',
      `>= ${ratio} x bare`,
      bare ? verdict(e.e2eRate >= ratio * bare) : '',
    ]);
    rows.push([
      `${tripLabel}, one call at a time (${e.calls} calls)`,
      `p50 ${e.p50.toFixed(3)} ms, p99 ${e.p99.toFixed(3)} ms`,
      '',
      '',
      '',
      tripTarget ? 'p50 <= 1 ms' : '',
      tripTarget ? verdict(e.p50 <= 1) : '',
    ]);
  };
  if (e2e) e2eRows(e2e, 'celeryts end-to-end, N calls, rpc results awaited', 0.25, 'warm round trip', true);
  if (e2eRedis)
    e2eRows(e2eRedis, 'celeryts end-to-end, N calls, Redis result backend, every result awaited', 0.3, 'warm round trip through Redis results', false);
  for (const { label, r } of rss) {
    rows.push([
      `celeryts worker peak RSS draining ${RSS_N.toLocaleString('en-US')} (${label})`,
      `${r.peakRssMb.toFixed(1)} MB (at ${fmtRate(r.rate)} tasks/s)`,
      '',
      '',
      '',
      '<= 100 MB',
      verdict(r.peakRssMb <= 100),
    ]);
  }
  if (cold) {
    rows.push([
      '`celeryts call` cold start (no --wait), 10 runs',
      `median ${cold.median.toFixed(0)} ms, min ${cold.min.toFixed(0)} ms`,
      '',
      '',
      '',
      '<= 300 ms',
      verdict(cold.median <= 300),
    ]);
  }
  const head = ['measurement', 'figure', 'x bare', 'consumer CPU µs/task', 'RabbitMQ CPU µs/task', 'target', ''];
  const table = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`);
  process.stdout.write(`${header.join('\n')}\n\n${table.join('\n')}\n`);
  if (!flags['keep-logs']) rmSync(WORK, { recursive: true, force: true });
}

await main();
