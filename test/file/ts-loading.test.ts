/**
 * TypeScript task modules as a worker loads them (src/loader/ts-require.ts): compiled once and
 * required in-thread when they can be, through tsx's ESM hooks when they cannot. Either way
 * the user sees the same thing: TypeScript import conventions work, tasks get their names, and
 * a failing task's traceback points at the TypeScript file and line.
 */
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cli, spawnWorker, tempBrokerUrl } from '../support/harness.js';
import { makeProject } from '../support/project.js';

/** Start a worker in `dir`, run `calls` (argv of `celeryts call ... --wait`), stop it. */
async function withWorker(dir: string, calls: string[][]): Promise<ReturnType<typeof cli>[]> {
  const env = { CELERYTS_BROKER_URL: tempBrokerUrl() };
  const worker = await spawnWorker(['-n', `tsload-${process.pid}@%h`], { cwd: dir, env });
  try {
    return calls.map((argv) => cli(['call', ...argv, '--wait', '--timeout', '10'], { cwd: dir, env }));
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
}

const resultOf = (r: ReturnType<typeof cli>) => {
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n')[1]!) as unknown;
};

describe('TypeScript task modules', () => {
  it('resolve tsconfig paths and ./x.js to x.ts, see their own import.meta, and fail with TypeScript lines', async () => {
    const dir = makeProject(
      {
        'celeryts.config.ts': `export default { root: 'src', imports: ['app.tasks'] };\n`,
        'tsconfig.json': JSON.stringify({ compilerOptions: { paths: { '@lib/*': ['./src/lib/*'] } } }),
        'src/lib/math.ts': `export const double = (n: number): number => n * 2;\n`,
        'src/app/label.ts': `export const label: string = 'ok';\n`,
        'src/app/tasks.ts': [
          `import { task } from 'celeryts';`,
          `import { double } from '@lib/math';`,
          `import { label } from './label.js';`,
          `export const twice = task((n: number) => double(n));`,
          `export const where = task(() => \`\${label}:\${import.meta.filename}\`);`,
          `export const boom = task((m: string): never => {`,
          `  throw new RangeError(m);`,
          `});`,
          `// CommonJS scope means the in-thread route: no loader thread (about 30 MB per worker).`,
          `export const scope = task(() => typeof module);`,
          ``,
        ].join('\n'),
      },
      { type: 'module' },
    );
    const [twice, where, boom, scope] = await withWorker(dir, [
      ['app.tasks.twice', '21'],
      ['app.tasks.where'],
      ['app.tasks.boom', '"no way"'],
      ['app.tasks.scope'],
    ]);
    assert.equal(resultOf(scope!), 'object', 'compiled and required in-thread');
    assert.equal(resultOf(twice!), 42);
    assert.equal(resultOf(where!), `ok:${realpathSync(path.join(dir, 'src/app/tasks.ts'))}`);
    assert.equal(boom!.status, 1);
    assert.match(boom!.stdout + boom!.stderr, /RangeError: no way/);
    assert.match(boom!.stdout + boom!.stderr, /src\/app\/tasks\.ts:7:\d+\)/, 'the traceback names the TypeScript line');
  });

  it('with top-level await, or a JavaScript module importing TypeScript, load through ESM hooks with the same names', async () => {
    const dir = makeProject(
      {
        'celeryts.config.ts': `export default { root: 'src', imports: ['app.tasks', 'app.plain'] };\n`,
        'src/app/tasks.ts': `import { task } from 'celeryts';\nconst factor: number = await Promise.resolve(3);\nexport const triple = task((n: number) => n * factor);\nexport const scope = task(() => typeof module);\n`,
        'src/app/inc.ts': `export const inc = (n: number): number => n + 1;\n`,
        'src/app/plain.mjs': `import { task } from 'celeryts';\nimport { inc } from './inc.ts';\nexport const bump = task((n) => inc(n));\n`,
      },
      { type: 'module' },
    );
    const [triple, bump, scope] = await withWorker(dir, [['app.tasks.triple', '5'], ['app.plain.bump', '1'], ['app.tasks.scope']]);
    assert.equal(resultOf(scope!), 'undefined', 'loaded as ESM');
    assert.equal(resultOf(triple!), 15);
    assert.equal(resultOf(bump!), 2);
  });
});
