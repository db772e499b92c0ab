/**
 * Helpers of the fault suite: workers of test/faults/app as real CLI processes on the private
 * RabbitMQ node, what their tasks recorded, what they logged, and a client to send with.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createApp, type App, type UserConfig } from 'celeryts';
import { eventually, spawnWorker, tempRecordFile, type WorkerProcess } from '../support/harness.js';
import { REPO } from '../support/helpers.js';
import type { PrivateRabbit } from './private-rabbit.js';

/** The fault suite's project (root of its task names). */
export const FAULTS_APP = path.join(REPO, 'test', 'faults', 'app');

/** A queue name no other test uses. */
export function uniqueQueue(prefix: string): string {
  return `faults.${prefix}.${randomUUID().slice(0, 8)}`;
}

/** What one test's workers share: the broker, a queue, a record file, extra env. */
export interface Setup {
  /** The private RabbitMQ (absent when `url` names another broker). */
  rabbit?: PrivateRabbit | undefined;
  queue: string;
  record: string;
  /** Broker URL for workers and clients (default rabbit.url). */
  url?: string;
  env?: NodeJS.ProcessEnv;
}

/** A fresh setup on a queue of its own. */
export function setup(rabbit: PrivateRabbit | undefined, prefix: string, env: NodeJS.ProcessEnv = {}, url?: string): Setup {
  return { rabbit, queue: uniqueQueue(prefix), record: tempRecordFile(), env, ...(url ? { url } : {}) };
}

let workerCounter = 0;

function workerArgs(s: Setup, args: string[]): { argv: string[]; options: { cwd: string; env: NodeJS.ProcessEnv } } {
  return {
    argv: ['-Q', s.queue, '-n', `f${++workerCounter}-${process.pid}@%h`, ...args],
    options: { cwd: FAULTS_APP, env: { CELERYTS_BROKER_URL: s.url ?? s.rabbit!.url, RECORD_FILE: s.record, FAULTS_QUEUE: s.queue, ...s.env } },
  };
}

/** `celeryts worker` for the fault app on the setup's queue; resolves once it is ready. */
export function startWorker(s: Setup, args: string[] = []): Promise<WorkerProcess> {
  const { argv, options } = workerArgs(s, args);
  return spawnWorker(argv, options);
}

/** The same without waiting for "ready" (a worker that may die before it says so). */
export function spawnWorkerNoWait(s: Setup, args: string[] = []): Promise<WorkerProcess> {
  const { argv, options } = workerArgs(s, args);
  return spawnWorker(argv, { ...options, waitReady: false });
}

/** A client app on the setup's broker and queue, quiet. */
export async function client(s: Setup, config: UserConfig = {}): Promise<App> {
  return createApp({ cwd: FAULTS_APP, brokerUrl: s.url ?? s.rabbit!.url, defaultQueue: s.queue, logLevel: 'silent', setAsCurrent: false, ...config });
}

/** One line a task wrote. */
export interface Run {
  event: 'start' | 'end';
  id: string;
  redelivered: boolean;
  pid: number;
  /** Date.now() when written. */
  at: number;
}

/** Every line the tasks wrote, in order. */
export function runs(file: string): Run[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [event, id, redelivered, pid, at] = l.split(' ');
      return { event: event as Run['event'], id: id!, redelivered: redelivered === '1', pid: Number(pid), at: Number(at) };
    });
}

/** Ids that ran to the end at least once. */
export function endedIds(file: string): Set<string> {
  return new Set(
    runs(file)
      .filter((r) => r.event === 'end')
      .map((r) => r.id),
  );
}

/** A worker's pino JSON lines (pretty lines and anything else are skipped). */
export function logLines(output: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const l of output.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // a line cut short by SIGKILL
    }
  }
  return lines;
}

/** Task ids of log lines whose message matches. */
export function idsLogged(output: string, re: RegExp): Set<string> {
  return new Set(
    logLines(output)
      .filter((l) => re.test(String(l['msg'])))
      .map((l) => String(l['taskId'])),
  );
}

/** Send `faults.record` for every id, as its task id too (results ignored); resolves once the broker confirmed all. */
export async function sendRecords(app: App, ids: readonly string[], ms: number): Promise<void> {
  await Promise.all(ids.map((id) => app.sendTask('faults.record', [id, ms], {}, { ignoreResult: true, taskId: id })));
}

/** Resolves once a worker has exited and everything it wrote has been read ('exit' can come first). */
export async function gone(w: WorkerProcess): Promise<number | null> {
  const code = await w.exited;
  for (const stream of [w.child.stdout!, w.child.stderr!]) if (!stream.closed) await once(stream, 'close');
  return code;
}

/** SIGKILL a worker and wait for it to be gone. */
export async function kill(w: WorkerProcess): Promise<void> {
  w.child.kill('SIGKILL');
  await gone(w);
}

/** SIGTERM a worker; resolves with its exit code once it is gone. */
export async function terminate(w: WorkerProcess): Promise<number | null> {
  if (w.child.exitCode === null) w.child.kill('SIGTERM');
  return gone(w);
}

/** Wait until `n` distinct ids have ended. */
export function untilEnded(file: string, n: number, timeoutMs = 60_000): Promise<unknown> {
  return eventually(() => endedIds(file).size >= n, timeoutMs, `${n} tasks ended`);
}

/** `inspect stats` of one worker through a client. */
export async function statsOf(app: App, node: string): Promise<Record<string, any>> {
  const control = await app.control();
  const replies = await control.broadcast('stats', {}, { destination: [node], timeout: 3 });
  const reply = replies[node];
  if (!reply) throw new Error(`no stats reply from ${node}`);
  return reply as Record<string, any>;
}

/** The node name a worker logged in its ready line. */
export function nodeOf(w: WorkerProcess): string {
  const ready = logLines(w.output()).find((l) => / ready\.$/.test(String(l['msg'])));
  if (!ready) throw new Error('worker has no ready line');
  return String(ready['node']);
}
