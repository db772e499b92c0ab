/**
 * `npm run soak` (not in CI): tasks through the private three-node cluster (test/faults/private-cluster.ts)
 * with acks late and quorum queues while one node is restarted (stop_app, start_app) every
 * SOAK_RESTART_EVERY seconds, round the nodes. Prints, per minute, tasks done and the workers' RSS;
 * at the end, tasks lost (sent and confirmed but never recorded) and run twice (flagged or not).
 *
 *   SOAK_TASKS (default 1,000,000)  SOAK_RESTART_EVERY (60)  SOAK_WORKERS (3, one per node)
 *   SOAK_BATCH (2,000 in flight at most)  SOAK_SAMPLE_EVERY (15: seconds between curve points)
 *
 * Workers are the fault suite's app (faults.record, which appends one line per start and end).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { createApp } from 'celeryts';
import { spawnWorker, type WorkerProcess } from '../test/support/harness.js';
import { FAULTS_APP, uniqueQueue } from '../test/faults/kit.js';
import { tempRecordFile } from '../test/support/harness.js';
import { Writable } from 'node:stream';
import pino from 'pino';
import { privateCluster } from '../test/faults/private-cluster.js';

const TOTAL = Number(process.env['SOAK_TASKS'] ?? 1_000_000);
const RESTART_EVERY_S = Number(process.env['SOAK_RESTART_EVERY'] ?? 60);
const WORKERS = Number(process.env['SOAK_WORKERS'] ?? 3);
const BATCH = Number(process.env['SOAK_BATCH'] ?? 2000);
const SAMPLE_EVERY_S = Number(process.env['SOAK_SAMPLE_EVERY'] ?? 15);

/**
 * The record file read incrementally: a million tasks write two million lines, and re-reading
 * them all before every batch made the soak measure its own bookkeeping.
 */
class RecordTail {
  readonly ended = new Set<string>();
  readonly starts = new Map<string, number>();
  /** Runs after a task's first whose task did not see request.deliveryInfo.redelivered: at-least-once must flag them. */
  unflaggedRepeats = 0;
  #offset = 0;
  #partial = '';
  constructor(private readonly file: string) {}

  /** Read what was appended since the last call. */
  update(): this {
    if (!existsSync(this.file)) return this;
    const fd = openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(1 << 20);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.#offset);
        if (n === 0) break;
        this.#offset += n;
        const lines = (this.#partial + buf.toString('utf8', 0, n)).split('\n');
        this.#partial = lines.pop() ?? '';
        for (const l of lines) {
          const [event, id, redelivered] = l.split(' ');
          if (!id) continue;
          if (event === 'end') this.ended.add(id);
          else if (event === 'start') {
            const before = this.starts.get(id) ?? 0;
            if (before > 0 && redelivered !== '1') this.unflaggedRepeats++;
            this.starts.set(id, before + 1);
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    return this;
  }
}

function rssMb(pid: number): number {
  try {
    const out = execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
    return Math.round(Number(out.trim()) / 1024);
  } catch {
    return NaN;
  }
}

/** Publishes the client wrote again after a lost connection: each may be a duplicate task (at-least-once publishing). */
let publisherResends = 0;
const publisherLog = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString().split('\n')) {
      if (!line.includes('sending publishes held or unconfirmed')) continue;
      publisherResends += Number((JSON.parse(line) as { resent?: number }).resent ?? 0);
    }
    done();
  },
});
const cluster = await privateCluster();
const queue = uniqueQueue('soak');
const record = tempRecordFile();
const tail = new RecordTail(record);
const app = await createApp({
  cwd: FAULTS_APP,
  brokerUrl: cluster.urlList(0),
  defaultQueue: queue,
  defaultQueueType: 'quorum',
  // Debug, captured: the reconnect line says how many publishes were written again (possible duplicates).
  logger: pino({ level: 'debug' }, publisherLog),
  setAsCurrent: false,
});
const broker = await app.broker();
await broker.declareQueue(queue, { queueType: 'quorum' });
await broker.bindNativeDelayedDelivery?.(queue);
const workers: WorkerProcess[] = [];
for (let i = 0; i < WORKERS; i++) {
  workers.push(
    await spawnWorker(['-Q', queue, '-n', `soak${i}-${process.pid}@%h`, '-c', '16', '--acks-late', '-l', 'warning'], {
      cwd: FAULTS_APP,
      env: { CELERYTS_BROKER_URL: cluster.urlList(i % 3), RECORD_FILE: record, FAULTS_QUEUE: queue, FAULTS_QUEUE_TYPE: 'quorum' },
      // -l warning keeps a million tasks out of the logs, and with them the "ready" line.
      waitReady: false,
    }),
  );
}

// Workers log nothing at -l warning once ready: give them time to start, then publish.
await new Promise((r) => setTimeout(r, 15_000));
for (const w of workers) if (w.child.exitCode !== null) throw new Error(`a worker exited at start:\n${w.output()}`);
const started = Date.now();
let confirmed = 0;
let failed = 0;
let sent = 0;
let restarts = 0;
const curve: string[] = [];
let lastDone = 0;
const minute = setInterval(() => {
  // A curve point every SAMPLE_EVERY_S (RSS of every worker, the rate since the last point in tasks per minute).
  const done = tail.update().ended.size;
  const perMinute = Math.round(((done - lastDone) * 60) / SAMPLE_EVERY_S);
  const line = `${((Date.now() - started) / 60_000).toFixed(2)} min: ${perMinute} tasks/min, done ${done}/${TOTAL}, confirmed ${confirmed}, RSS MB ${workers.map((w) => rssMb(w.child.pid!)).join(' ')}`;
  lastDone = done;
  curve.push(line);
  process.stderr.write(`${line}\n`);
}, SAMPLE_EVERY_S * 1000);
const restarter = setInterval(() => {
  const node = restarts++ % 3;
  process.stderr.write(`restarting node ${node + 1}\n`);
  void cluster
    .stopApp(node)
    .then(() => new Promise((r) => setTimeout(r, 3000)))
    .then(() => cluster.startApp(node))
    .catch((err: unknown) => process.stderr.write(`restart of node ${node + 1} failed: ${String(err)}\n`));
}, RESTART_EVERY_S * 1000);

// Publish with at most BATCH unconfirmed, each confirmed id counted.
const confirmedIds = new Set<string>();
while (sent < TOTAL) {
  const n = Math.min(BATCH, TOTAL - sent);
  const ids = Array.from({ length: n }, (_, k) => `t${sent + k}`);
  sent += n;
  await Promise.all(
    ids.map((id) =>
      app.sendTask('faults.record', [id, 0], {}, { ignoreResult: true, taskId: id }).then(
        () => {
          confirmed++;
          confirmedIds.add(id);
        },
        () => failed++,
      ),
    ),
  );
  // Keep the backlog bounded: the point is a steady flow, not a queue of a million.
  while (confirmed - tail.update().ended.size > 20 * BATCH) await new Promise((r) => setTimeout(r, 1000));
}
const deadline = Date.now() + 10 * 60_000;
const allRan = (): boolean => {
  const { ended } = tail.update();
  for (const id of confirmedIds) if (!ended.has(id)) return false;
  return true;
};
while (Date.now() < deadline && !allRan()) await new Promise((r) => setTimeout(r, 2000));
clearInterval(minute);
clearInterval(restarter);
const { ended, starts } = tail.update();
const lost = [...confirmedIds].filter((id) => !ended.has(id)).length;
const twice = [...starts.values()].filter((c) => c > 1).length;
const minutes = (Date.now() - started) / 60_000;
console.log(
  JSON.stringify(
    {
      tasks: TOTAL,
      confirmed,
      publishFailed: failed,
      lost,
      ranMoreThanOnce: twice,
      repeatsNotFlaggedRedelivered: tail.unflaggedRepeats,
      publisherResends,
      nodeRestarts: restarts,
      restartEverySeconds: RESTART_EVERY_S,
      minutes: Number(minutes.toFixed(1)),
      perMinute: Math.round(ended.size / minutes),
      curve,
    },
    null,
    2,
  ),
);
for (const w of workers) w.child.kill('SIGTERM');
await Promise.all(workers.map((w) => w.exited));
await app.close();
process.exit(lost === 0 ? 0 : 1);
