/**
 * The loader: import task modules, then give every task created while they loaded its
 * canonical name (DESIGN.md naming rule) and register it. The worker, `celeryts call` and
 * `celeryts inspect` all load through here, so they agree on names.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ModuleLoadError, TaskNamingError } from '../core/errors.js';
import { canonicalModuleName } from '../core/naming.js';
import type { TaskRegistry } from '../core/registry.js';
import { createdTasks, type Task } from '../core/task.js';
import { resolveModule } from './resolve-module.js';
import { ensureTsx } from './tsx.js';
import { ownsFile, prepareTypeScript, requireTs } from './ts-require.js';

const TS = /\.[cm]?tsx?$/;

/** Import one file; errors become ModuleLoadError naming the file. */
export async function importFile(file: string): Promise<Record<string, unknown>> {
  const required = ownsFile(file) || (TS.test(file) && (await prepareTypeScript([file])));
  if (TS.test(file) && !required) await ensureTsx();
  try {
    if (required) return requireTs(file);
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error;
    throw new ModuleLoadError(`error while loading task module ${file}: ${e.stack ?? e.message}`, { cause: err });
  }
}

/** The name a module namespace exports `value` under (CommonJS namespaces nest it in default). */
function exportNameOf(ns: Record<string, unknown>, value: unknown): string | undefined {
  const names = Object.keys(ns).filter((k) => k !== 'default' && ns[k] === value);
  if (names.length) return names.sort()[0];
  const def = ns['default'];
  if (def && typeof def === 'object') {
    const inner = Object.keys(def).filter((k) => k !== 'default' && (def as Record<string, unknown>)[k] === value);
    if (inner.length) return inner.sort()[0];
  }
  return undefined;
}

/** Assign the canonical name to a task that has none (explicit names are kept). */
export async function nameTask(task: Task<any, any>, realRoot: string): Promise<string> {
  if (task.hasName) return task.name;
  const file = task.definingFile;
  if (!file) throw new TaskNamingError('cannot tell which file defined a task; give it an explicit name');
  const real = realpathSync(file);
  const ns = await importFile(real);
  const exported = exportNameOf(ns, task);
  if (!exported) {
    throw new TaskNamingError(`a task defined in ${real} is not exported and has no explicit name: export it or pass { name }`);
  }
  task.exportName = exported;
  task.name = `${canonicalModuleName(real, realRoot)}.${exported}`;
  return task.name;
}

/** Name every task created so far and register it. Errors name the files involved. */
export async function registerCreatedTasks(registry: TaskRegistry, root: string): Promise<void> {
  const realRoot = realpathSync(root);
  for (const t of createdTasks()) {
    await nameTask(t, realRoot);
    registry.register(t);
  }
}

/** Import the given module references (dotted names or paths) and register their tasks. */
export async function loadTaskModules(refs: readonly string[], root: string, registry: TaskRegistry): Promise<string[]> {
  const files = refs.map((r) => resolveModule(r, root));
  // Compile every TypeScript module at once (one esbuild run), else tsx loads them all.
  const ts = files.filter((f) => TS.test(f));
  if (ts.length) await prepareTypeScript(ts);
  for (const f of files) await importFile(f);
  await registerCreatedTasks(registry, root);
  return files;
}
