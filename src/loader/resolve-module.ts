import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { ModuleLoadError } from '../core/errors.js';
import { moduleCandidates } from '../core/naming.js';

/**
 * Resolve a task module reference to a file, as Python resolves an import path:
 * `proj.tasks` -> <root>/proj/tasks.ts|.mts|.js|.mjs or <root>/proj/tasks/index.*.
 * A reference with a slash or an extension is a path relative to the root.
 */
export function resolveModule(ref: string, root: string): string {
  const looksLikePath = ref.includes('/') || ref.includes(path.sep) || /\.[cm]?[jt]s$/.test(ref);
  const candidates = looksLikePath ? [ref] : moduleCandidates(ref);
  if (candidates.length === 0) throw new ModuleLoadError(`'${ref}' is not a module name (expected something like proj.tasks)`);
  for (const c of candidates) {
    const file = path.resolve(root, c);
    if (existsSync(file) && statSync(file).isFile()) return realpathSync(file);
  }
  const tried = candidates.map((c) => path.relative(process.cwd(), path.resolve(root, c)) || c);
  throw new ModuleLoadError(`cannot find task module '${ref}' under ${root} (tried ${tried.join(', ')})`);
}
