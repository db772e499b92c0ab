/**
 * Test harness: workers in this process (fast, inspectable) or as real CLI processes (signals,
 * SIGKILL, exit codes). Integration tests import 'celeryts' (the built package), as users do.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { createApp, Worker, type App, type UserConfig } from 'celeryts';
import { REPO, tempDir } from './helpers.js';
import { LogCapture } from './log-capture.js';

export { LogCapture };

export const BIN = path.join(REPO, 'bin', 'celeryts.js');
export const E2E = path.join(REPO, 'test', 'fixtures', 'e2e');

/** A fresh embedded-broker URL in a temp dir. */
export function tempBrokerUrl(): string {
  return `file://${tempDir('broker-')}`;
}

/** A fresh temp file path for tasks to record into. */
export function tempRecordFile(): string {
  return path.join(tempDir('rec-'), 'record.log');
}

/** Lines a task recorded, parsed as [event, label, time, pid]. */
export function readRecord(file: string): { event: string; label: string; at: number; pid: number }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [event, label, at, pid] = l.split(' ');
      return { event: event!, label: label!, at: Number(at), pid: Number(pid) };
    });
}

/** A worker and a client app in this process, on one broker. */
export interface InProcess {
  app: App;
  worker: Worker;
  client: App;
  logs: LogCapture;
  stop(): Promise<void>;
}

let nodeCounter = 0;

/** Start a worker for the e2e fixture project in this process. */
export async function startInProcess(options: { brokerUrl: string; config?: UserConfig; queues?: string[] }): Promise<InProcess> {
  const logs = new LogCapture();
  const app = await createApp({ cwd: E2E, brokerUrl: options.brokerUrl, ...options.config, logger: logs.logger() });
  await app.loadTasks();
  const worker = new Worker(app, { nodeName: `test${++nodeCounter}-${process.pid}@localhost`, ...(options.queues ? { queues: options.queues } : {}) });
  await worker.start();
  const client = await createApp({ cwd: E2E, brokerUrl: options.brokerUrl, ...options.config, logLevel: 'silent', setAsCurrent: false });
  return {
    app,
    worker,
    client,
    logs,
    async stop() {
      await worker.stop();
      await app.close();
      await client.close();
    },
  };
}

/** Run the CLI to completion. */
export function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: options.timeout ?? 30_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
}

/** A worker process; resolves once it logs that it is ready. */
export interface WorkerProcess {
  child: ChildProcess;
  /** stdout and stderr as they arrived, interleaved. */
  output(): string;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Start `celeryts worker` as a child process and wait until it is ready (unless `waitReady` is false). */
export async function spawnWorker(
  args: string[],
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    waitReady?: boolean /** Options before the command: `celeryts -A x worker`. */;
    argsBefore?: string[];
  } = {},
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [BIN, ...(options.argsBefore ?? []), 'worker', ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (options.waitReady !== false && !/ ready\./.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return { child, output: () => out, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Poll until `check` returns truthy or time runs out. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
