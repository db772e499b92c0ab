/**
 * TypeScript task modules without a loader thread.
 *
 * tsx registers its ESM hooks with module.register(), and on Node 20 those hooks run in a
 * thread of their own, with its own V8 isolate: about 30 MB of a worker's memory for as long as
 * it lives, to compile a handful of files once at start-up. Instead, every TypeScript file the
 * task modules reach is compiled up front (esbuild, what tsx runs anyway) to CommonJS, each
 * file alone with its imports resolved the TypeScript way (`./x.js` meaning `./x.ts`, tsconfig
 * paths) and written as absolute paths; then esbuild's process is stopped and the files are
 * required through a `.ts` require hook. Packages, JavaScript files and `celeryts` itself load
 * natively (ESM ones through require(esm), as the same instances the worker imports), and task
 * files keep their own paths, so stack traces and task names are the same as with tsx.
 *
 * CommonJS cannot hold everything ESM can. When a file uses top-level await, imports a
 * TypeScript file dynamically, or a JavaScript file of the project imports a TypeScript one,
 * the whole set is left to tsx (`prepareTypeScript` returns false). So is a process that loads
 * TypeScript already (it runs under tsx or ts-node, say): requiring a file it has imported
 * would create a second copy of its tasks.
 */
import Module, { createRequire } from 'node:module';
import { compileAlone, type Esbuild } from './esbuild-externals.js';
import { tsxRegistered } from './tsx.js';

const TS_FILE = /\.[cm]?tsx?$/;
const JS_FILE = /\.[cm]?jsx?$/;
const EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx'] as const;

/** Compiled code waiting for its require() (dropped once required). */
const compiled = new Map<string, string>();
/** Every file compiled here: required through the hook from now on. */
const owned = new Set<string>();
/** Entries left to ESM hooks: not tried again. */
const declined = new Set<string>();
let hookInstalled = false;

class NeedsEsm extends Error {}

/** Does this process load TypeScript already (a loader in its flags, or Node's own type stripping)? */
function processLoadsTypeScript(): boolean {
  const flags = `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`;
  return /\btsx\b|ts-node|strip-types|transform-types/.test(flags) || Boolean((process.features as { typescript?: unknown }).typescript);
}

/**
 * Compile every TypeScript file `entries` reach, so `requireTs` can load them. False when
 * they must load through ESM hooks instead (see the file comment); a compile error is false
 * too, so tsx reports it as users know it.
 */
export async function prepareTypeScript(entries: readonly string[]): Promise<boolean> {
  const todo = entries.filter((f) => !owned.has(f));
  if (todo.length === 0) return true;
  if (todo.some((f) => declined.has(f)) || processLoadsTypeScript() || tsxRegistered()) {
    for (const f of todo) declined.add(f);
    return false;
  }
  let esbuild: Esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return false;
  }
  const out = new Map<string, string>();
  try {
    const seen = new Set<string>([...owned, ...todo]); // what is compiled already is not again
    let wave = todo;
    while (wave.length) {
      const next: string[] = [];
      // TypeScript is compiled wherever it lives (workspace packages); packages' JavaScript is not scanned.
      const visit = (file: string) => {
        if (seen.has(file) || (!TS_FILE.test(file) && file.includes('/node_modules/'))) return;
        seen.add(file);
        next.push(file);
      };
      await Promise.all(
        wave.map(async (file) => {
          const ts = TS_FILE.test(file);
          const code = await compileAlone(esbuild, file, 'cjs', (resolved, args) => {
            if (TS_FILE.test(resolved)) {
              if (!ts || args.kind === 'dynamic-import') throw new NeedsEsm(`${args.importer} imports ${resolved} as ESM`);
              visit(resolved);
              return resolved;
            }
            // Packages keep their specifier (Node picks their CommonJS entry); project JavaScript
            // is loaded natively by path (tsconfig paths may have led there), but may itself
            // import TypeScript: look.
            if (!JS_FILE.test(resolved) || resolved.includes('/node_modules/')) return undefined;
            visit(resolved);
            return resolved;
          });
          if (ts) out.set(file, code);
        }),
      );
      wave = next;
    }
  } catch {
    for (const f of todo) declined.add(f);
    return false; // NeedsEsm, top-level await ("not supported with the cjs output format"), a syntax error
  } finally {
    void esbuild.stop(); // its service process: not needed again
  }
  for (const [file, code] of out) {
    compiled.set(file, code);
    owned.add(file);
  }
  installHook();
  return true;
}

/** Was this file compiled here (and so must be loaded with `requireTs`)? */
export function ownsFile(file: string): boolean {
  return owned.has(file);
}

/** Load a file `prepareTypeScript` compiled; its exports, as an ESM namespace would have them. */
export function requireTs(file: string): Record<string, unknown> {
  return createRequire(file)(file) as Record<string, unknown>;
}

function installHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  // The documented-by-usage CommonJS extension point every require-time compiler uses.
  const extensions = (Module as unknown as { _extensions: Record<string, (m: Module, f: string) => void> })._extensions;
  for (const ext of EXTENSIONS) {
    const previous = extensions[ext];
    extensions[ext] = (module, filename) => {
      const code = compiled.get(filename);
      if (code === undefined) {
        // Not ours (another hook's, or a file outside what the entries reach): as before.
        if (previous) return previous(module, filename);
        throw new Error(`cannot require ${filename}: TypeScript files load only as task modules or their imports`);
      }
      compiled.delete(filename);
      (module as unknown as { _compile(code: string, filename: string): void })._compile(code, filename);
    };
  }
  // Stack traces of compiled files point at TypeScript lines.
  process.setSourceMapsEnabled(true);
}
