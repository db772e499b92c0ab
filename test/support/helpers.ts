import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Messages captured from Python Celery 5.2.6 (test/fixtures/protocol/). */
export function protocolFixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(path.join(REPO, 'test', 'fixtures', 'protocol', `${name}.json`), 'utf8')) as T;
}

let runDir: string | undefined;

/**
 * A fresh folder for one test's files, under a folder of this test process's own that is
 * removed when the process exits (test files run in processes of their own).
 */
export function tempDir(prefix: string): string {
  if (!runDir) {
    const dir = mkdtempSync(path.join(tmpdir(), 'celeryts-test-'));
    runDir = dir;
    // Symlinks inside (node_modules/celeryts -> this repo) are removed, not followed.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return mkdtempSync(path.join(runDir, prefix));
}

/**
 * The Redis database tests may use (CELERYTS_TEST_REDIS_URL, default db 15 so a developer's db 0
 * is never touched). Tests name their keys uniquely; they never flush another database.
 */
export function testRedisUrl(): string {
  return process.env['CELERYTS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/15';
}

/**
 * Run an ES module `script` (TypeScript imports allowed, through tsx) in a fresh node process
 * with `nodeArgs` and no NODE_OPTIONS, from the repository root; the last line it prints, parsed
 * as JSON. Throws with its stderr when it fails. For what must start from a clean V8 heap.
 */
export function evalInFreshNode<T>(script: string, nodeArgs: string[] = []): T {
  const r = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (r.status !== 0) throw new Error(`node exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}
