/**
 * Beat tests as a user runs beat: `celeryts beat` processes in a project of their own (its
 * config holds the schedule), SIGKILL and SIGTERM, and the ticks read back from the queue they
 * were sent to, with their fire times decoded from the task ids (tick-id.ts).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createBroker, tickTime, type UserConfig } from 'celeryts';
import { BIN } from './harness.js';
import { makeProject } from './project.js';

/** A project whose celeryts.config.json is `config`; returns its folder. */
export function beatProject(config: UserConfig, files: Record<string, string> = {}): string {
  return makeProject({ 'celeryts.config.json': JSON.stringify(config), ...files });
}

/** A running CLI process (beat, or a worker with -B). */
export interface CliProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Resolve once the output matches `re` (searching from `from`), else fail with the output. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

/** Start `celeryts <args>` in `cwd`. */
export function spawnCli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    async waitFor(re, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
          throw new Error(`no ${re} in the output of celeryts ${args.join(' ')} (exit ${child.exitCode ?? child.signalCode}):\n${out}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Stop a process with SIGTERM and return its exit code. */
export async function stop(p: CliProcess): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  return p.exited;
}

/** A tick as read from the queue. */
export interface SentTick {
  id: string;
  task: string;
  args: unknown;
  /** Fire time, from the id. */
  due: number;
}

/** Poll until `queue` holds at least `n` messages (0 while it does not exist yet). */
export async function waitForTicks(brokerUrl: string, queue: string, n: number, timeoutMs = 20_000): Promise<void> {
  const b = await createBroker(brokerUrl);
  try {
    await b.connect();
    const deadline = Date.now() + timeoutMs;
    while (((await b.queueSize(queue)) ?? 0) < n) {
      if (Date.now() > deadline) throw new Error(`fewer than ${n} ticks in ${queue} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await b.close();
  }
}

/** Take every message out of `queue`, as ticks in fire-time order. */
export async function drainTicks(brokerUrl: string, queue: string): Promise<SentTick[]> {
  const b = await createBroker(brokerUrl);
  await b.connect();
  const ticks: SentTick[] = [];
  try {
    const expected = (await b.queueSize(queue)) ?? 0;
    if (expected === 0) return [];
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const consumer = await b.consume(queue, { prefetch: 0 }, (d) => {
      const id = String(d.headers['id']);
      const due = tickTime(id);
      assert.ok(due !== undefined, `message ${id} is not a beat tick`);
      ticks.push({ id, task: String(d.headers['task']), args: JSON.parse(d.body.toString())[0], due });
      d.ack();
      if (ticks.length >= expected) done();
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    await consumer.cancel();
  } finally {
    await b.close();
  }
  return ticks.sort((a, b) => a.due - b.due);
}

/** Assert the ticks are distinct and every period apart, none missing: returns their fire times. */
export function assertEveryTickOnce(ticks: readonly SentTick[], periodMs: number): number[] {
  const dues = ticks.map((t) => t.due);
  assert.equal(new Set(ticks.map((t) => t.id)).size, ticks.length, `a tick was sent twice: ${dues.join(', ')}`);
  for (let i = 1; i < dues.length; i++) {
    assert.equal(
      dues[i]! - dues[i - 1]!,
      periodMs,
      `ticks ${new Date(dues[i - 1]!).toISOString()} and ${new Date(dues[i]!).toISOString()} are not one period apart`,
    );
  }
  return dues;
}

/**
 * Ticks sent before and after a restart: each run sent every tick once, and the first tick after
 * the restart is the next one, or (when ticks fell due while no beat ran) the latest missed one,
 * sent once and logged as coalesced. Returns the gap in periods.
 */
export function assertRestartTicks(before: readonly SentTick[], after: readonly SentTick[], periodMs: number, secondOutput: string): number {
  assertEveryTickOnce(before, periodMs);
  assertEveryTickOnce(after, periodMs);
  assert.equal(new Set([...before, ...after].map((t) => t.id)).size, before.length + after.length, 'no tick sent before and again after the restart');
  const gap = after[0]!.due - before.at(-1)!.due;
  assert.ok(gap >= periodMs && gap % periodMs === 0, `the first tick after the restart is on the grid (gap ${gap} ms)`);
  if (gap > periodMs) assert.match(secondOutput, /"coalesced":true/, 'missed ticks were coalesced into one');
  return gap / periodMs;
}
