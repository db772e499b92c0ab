/** Temporary user projects for loader and CLI tests: ESM or CommonJS, with celeryts linked in. */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, tempDir } from './helpers.js';

/** Write `files` (path -> content) into a fresh project folder and link node_modules/celeryts to this repo. */
export function makeProject(files: Record<string, string>, options: { type?: 'module' | 'commonjs' } = {}): string {
  const dir = tempDir('proj-');
  const pkg = { name: 'user-project', private: true, ...(options.type === 'module' ? { type: 'module' } : {}) };
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(REPO, path.join(dir, 'node_modules', 'celeryts'), 'dir');
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return dir;
}
