/**
 * The naming rule (DESIGN.md): an explicit name wins; otherwise
 * canonical module name + "." + export name, where the canonical module name is the defining
 * file's real path relative to the app root, extension dropped, trailing /index dropped,
 * separators turned into dots. Pure string work: callers pass real paths.
 */
import path from 'node:path';
import { TaskNamingError } from './errors.js';

const EXTENSIONS = /\.(?:[cm]?[jt]sx?)$/;

/** `tasks-example/proj/tasks.ts` under root `tasks-example` -> `proj.tasks`. */
export function canonicalModuleName(realFile: string, realRoot: string): string {
  const rel = path.relative(realRoot, realFile);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new TaskNamingError(`task module ${realFile} is outside the app root ${realRoot}; set 'root' in the config or give the task an explicit name`);
  }
  let mod = rel.replace(EXTENSIONS, '').split(path.sep).join('/');
  if (mod === 'index') throw new TaskNamingError(`task module ${realFile} is the root index; give its tasks explicit names`);
  mod = mod.replace(/\/index$/, '');
  return mod.split('/').join('.');
}

/** Python-style dotted module path -> relative path candidates under the root, in resolution order. */
export function moduleCandidates(dotted: string): string[] {
  if (!/^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/.test(dotted)) return [];
  const base = dotted.split('.').join('/');
  const exts = ['.ts', '.mts', '.js', '.mjs', '.cts', '.cjs'];
  return [...exts.map((e) => base + e), ...exts.map((e) => `${base}/index${e}`)];
}
