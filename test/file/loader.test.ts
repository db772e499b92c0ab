/**
 * Loading and naming through the real CLI: the worker, `celeryts call` and `celeryts inspect
 * registered` agree on names however a module was imported; bad setups exit 2 with a message
 * that names the key or file.
 */
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cli, spawnWorker, tempBrokerUrl } from '../support/harness.js';
import { makeProject } from '../support/project.js';

const TASKS = `import { task } from 'celeryts';\nexport const add = task((x: number, y: number) => x + y);\n`;

async function namesSeenByWorker(dir: string, env: NodeJS.ProcessEnv): Promise<{ registered: string[]; called: ReturnType<typeof cli> }> {
  const worker = await spawnWorker(['-n', `naming-${process.pid}@%h`], { cwd: dir, env });
  try {
    const inspect = cli(['inspect', 'registered', '--json', '--timeout', '2'], { cwd: dir, env });
    assert.equal(inspect.status, 0, inspect.stderr);
    const replies = JSON.parse(inspect.stdout) as Record<string, string[]>;
    const called = cli(['call', 'app.tasks.add', '2', '3', '--wait', '--timeout', '10', '-A', 'app.tasks'], { cwd: dir, env });
    return { registered: Object.values(replies)[0]!, called };
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
}

describe('task names agree in worker, call and inspect, however the module is imported', () => {
  for (const type of ['module', 'commonjs'] as const) {
    it(`relative, absolute, re-export, symlink and alias imports give one name (package type ${type})`, async () => {
      const dir = makeProject(
        {
          'celeryts.config.ts': `import { defineConfig } from 'celeryts';\nexport default defineConfig({ root: 'src', imports: ['app.tasks', 'app', 'linked.tasks', 'other.uses', 'ABS'] });\n`,
          'src/app/tasks.ts': TASKS,
          'src/app/index.ts': `export * from './tasks.js';\n`,
          'src/other/uses.ts': `import { add } from '../app/tasks.js';\nexport const plus = add;\n`,
        },
        { type },
      );
      symlinkSync(path.join(dir, 'src', 'app'), path.join(dir, 'src', 'linked'), 'dir');
      // An absolute path to the same file, as a config might list it.
      const cfg = path.join(dir, 'celeryts.config.ts');
      const { readFileSync, writeFileSync } = await import('node:fs');
      writeFileSync(cfg, readFileSync(cfg, 'utf8').replace("'ABS'", JSON.stringify(path.join(dir, 'src/app/tasks.ts'))));

      const env = { CELERYTS_BROKER_URL: tempBrokerUrl() };
      const { registered, called } = await namesSeenByWorker(dir, env);
      assert.deepEqual(registered, ['app.tasks.add']);
      assert.equal(called.status, 0, called.stderr);
      assert.equal(called.stdout.trim().split('\n')[1], '5');
      assert.doesNotMatch(called.stderr + called.stdout, /not registered/, 'call -A loaded the same name');
    });
  }
});

describe('load-time errors exit 2 with one clear message, before anything starts', () => {
  const run = (files: Record<string, string>) =>
    cli(['worker'], { cwd: makeProject(files, { type: 'module' }), env: { CELERYTS_BROKER_URL: tempBrokerUrl() } });

  it('an unknown config key, with a did-you-mean', () => {
    const r = run({ 'celeryts.config.ts': `export default { concurency: 4 };\n` });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown key 'concurency' \(did you mean 'concurrency'\?\)/);
    assert.match(r.stderr, /celeryts\.config\.ts/);
  });

  it('a config value of the wrong type, naming the key', () => {
    const r = run({ 'celeryts.config.json': JSON.stringify({ concurrency: 'many' }) });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /'concurrency' must be a whole number above 0/);
  });

  it('a missing task module, naming what was tried', () => {
    const r = run({ 'celeryts.config.ts': `export default { imports: ['app.nope'] };\n` });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cannot find task module 'app\.nope'/);
    assert.match(r.stderr, /app\/nope\.ts/);
  });

  it('a module that throws while loading, naming the file', () => {
    const r = run({ 'celeryts.config.ts': `export default { imports: ['boom'] };\n`, 'boom.ts': `throw new Error('kaboom');\n` });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /error while loading task module .*boom\.ts/);
    assert.match(r.stderr, /kaboom/);
  });

  it('a task that is not exported and has no name, naming the file', () => {
    const r = run({ 'celeryts.config.ts': `export default { imports: ['hidden'] };\n`, 'hidden.ts': `import { task } from 'celeryts';\ntask(() => 1);\n` });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not exported and has no explicit name/);
    assert.match(r.stderr, /hidden\.ts/);
  });

  it('two tasks with one name, naming both files', () => {
    const r = run({
      'celeryts.config.ts': `export default { imports: ['a', 'b'] };\n`,
      'a.ts': `import { task } from 'celeryts';\nexport const t = task({ name: 'same' }, () => 1);\n`,
      'b.ts': `import { task } from 'celeryts';\nexport const t = task({ name: 'same' }, () => 2);\n`,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /two tasks are named 'same'/);
    assert.match(r.stderr, /a\.ts/);
    assert.match(r.stderr, /b\.ts/);
  });

  it('an explicit --config that does not exist', () => {
    const r = cli(['worker', '--config', '/nonexistent/celeryts.config.ts']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /config file not found: \/nonexistent\/celeryts\.config\.ts/);
  });
});
