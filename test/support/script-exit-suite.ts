/**
 * A script ends at its last line, as a Python script does: idle broker connections do not hold
 * the event loop, pending work (a publish, a result wait) does. Runs on every broker.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eventually, spawnWorker, type WorkerProcess } from './harness.js';
import { makeProject } from './project.js';

const TASKS = `import { task } from 'celeryts';
export const add = task((x: number, y: number) => x + y);
export const slow = task(async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return ms; });
`;

/** The scripts a user writes, each ending at its last line. */
const SCRIPTS: Record<string, string> = {
  // The implicit app: no handle to close.
  'wait.ts': `import { add } from './tasks.js';
const r = await add.delay(2, 3);
console.log(await r.get());
`,
  // A wait with no timeout while the task takes a while: the wait keeps the process alive.
  'slow.ts': `import { slow } from './tasks.js';
console.log(await (await slow.delay(1500)).get());
`,
  // Fire and forget at the very end: the publish still reaches the broker before the process ends.
  'fire.ts': `import { add } from './tasks.js';
void add.delay(20, 22).then((r) => console.log(r.id));
`,
  // An explicit app, closed when its block ends.
  'using.ts': `import { createApp } from 'celeryts';
import { add } from './tasks.js';
await using app = await createApp();
const r = await app.sendTask<number>('tasks.add', [4, 5]);
console.log(await r.get());
`,
};

// The user's project has no tsx of its own; use ours, as `npx tsx` would find it.
const TSX = import.meta.resolve('tsx');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run a script with tsx; killed after `limitMs` (a hang shows as SIGKILL). */
function runScript(dir: string, file: string, env: NodeJS.ProcessEnv, limitMs = 20_000): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', TSX, file], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    }),
  );
}

/** The suite, on the broker `brokerUrl()` names. */
export function runScriptExitSuite(label: string, brokerUrl: () => string): void {
  describe(`scripts end at their last line (${label})`, () => {
    let dir: string;
    let worker: WorkerProcess;
    let env: NodeJS.ProcessEnv;

    before(async () => {
      const queue = `scripts-${randomUUID().slice(0, 8)}`;
      const config = `export default { root: '.', imports: ['tasks'], defaultQueue: '${queue}', logLevel: 'warn' };\n`;
      dir = makeProject({ 'celeryts.config.ts': config, 'tasks.ts': TASKS, ...SCRIPTS }, { type: 'module' });
      env = { CELERYTS_BROKER_URL: brokerUrl() };
      worker = await spawnWorker(['--loglevel', 'info', '-n', `${queue}@localhost`], { cwd: dir, env });
    });

    after(async () => {
      worker?.child.kill('SIGTERM');
      await worker?.exited;
    });

    test('await add.delay() then await r.get(): prints the result and exits 0', async () => {
      const run = await runScript(dir, 'wait.ts', env);
      assert.equal(run.signal, null, `the script hung (killed after ${run.ms} ms)\n${run.stderr}`);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), '5');
    });

    test('a wait without timeout keeps the script alive until the result comes', async () => {
      const run = await runScript(dir, 'slow.ts', env);
      assert.equal(run.signal, null, `the script hung (killed after ${run.ms} ms)\n${run.stderr}`);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), '1500');
      assert.ok(run.ms >= 1500, `exited after ${run.ms} ms, before the task could finish`);
    });

    test('delay() not awaited on the last line still reaches the worker', async () => {
      const run = await runScript(dir, 'fire.ts', env);
      assert.equal(run.signal, null, `the script hung (killed after ${run.ms} ms)\n${run.stderr}`);
      assert.equal(run.code, 0, run.stderr);
      const id = run.stdout.trim();
      assert.match(id, /^[0-9a-f-]{36}$/);
      await eventually(() => new RegExp(`${id}\\] succeeded`).test(worker.stderr()), 10_000, `task ${id} to succeed on the worker`);
    });

    test('await using app = await createApp(): closes at the end of the block', async () => {
      const run = await runScript(dir, 'using.ts', env);
      assert.equal(run.signal, null, `the script hung (killed after ${run.ms} ms)\n${run.stderr}`);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), '9');
    });
  });
}
