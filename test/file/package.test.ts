/**
 * The package as npm publishes it (needs `npm run build`, which test:file runs first): a
 * LICENSE, source maps whose sources ship too, and type declarations that compile in a fresh
 * TypeScript project with full library checking.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { REPO, tempDir } from '../support/helpers.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function packedFiles(): string[] {
  const out = execFileSync(NPM, ['pack', '--dry-run', '--ignore-scripts', '--json'], { cwd: REPO, encoding: 'utf8' });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

it('ships a LICENSE, and every source map points at files the package ships', () => {
  const files = new Set(packedFiles());
  assert.ok(files.has('LICENSE'), 'LICENSE');
  assert.match(readFileSync(path.join(REPO, 'LICENSE'), 'utf8'), /^MIT License/);
  assert.equal(JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).license, 'MIT');
  const maps = [...files].filter((f) => f.endsWith('.map'));
  assert.ok(maps.length > 10, 'source maps are shipped');
  const unresolved: string[] = [];
  for (const map of maps) {
    const { sources } = JSON.parse(readFileSync(path.join(REPO, map), 'utf8')) as { sources: string[] };
    for (const source of sources) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(map), source));
      if (!files.has(target)) unresolved.push(`${map} -> ${target}`);
    }
  }
  assert.deepEqual(unresolved, []);
  assert.ok(![...files].some((f) => f.startsWith('test/') || f.startsWith('bench/')), 'no tests or benchmarks');
});

it('the published types compile in a new project (skipLibCheck off, @types/node installed as any Node project has it)', () => {
  const dir = tempDir('consumer-');
  const pkg = path.join(dir, 'node_modules', 'celeryts');
  for (const file of packedFiles()) {
    mkdirSync(path.dirname(path.join(pkg, file)), { recursive: true });
    writeFileSync(path.join(pkg, file), readFileSync(path.join(REPO, file)));
  }
  // What npm installs with it: its dependencies (not its devDependencies).
  const { dependencies } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of Object.keys(dependencies)) {
    mkdirSync(path.dirname(path.join(dir, 'node_modules', dep)), { recursive: true });
    symlinkSync(path.join(REPO, 'node_modules', dep), path.join(dir, 'node_modules', dep), 'dir');
  }
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
        typeRoots: [path.join(REPO, 'node_modules', '@types')],
      },
      include: ['main.ts'],
    }),
  );
  writeFileSync(
    path.join(dir, 'main.ts'),
    `import { chain, createApp, task, type AsyncResult } from 'celeryts';
export const add = task((x: number, y: number) => x + y);
export async function main(): Promise<number> {
  const app = await createApp();
  const r: AsyncResult<number> = await add.delay(2, 3);
  await chain(add.s(1, 2), add.s(3)).applyAsync();
  await app.close();
  return r.get({ timeout: 10 });
}
`,
  );
  const r = spawnSync(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
});
