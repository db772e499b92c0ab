/**
 * A TypeScript config file without tsx's loader thread: `celeryts call` and `inspect` start
 * cold on every use, and registering tsx costs them more than everything else they do.
 *
 * tsx (module.register) boots a hooks thread (~50 ms) and then sends every later import to
 * it, the config's `celeryts` import and the broker adapter included (~80 ms more). A config
 * file is one small module, so it is transpiled alone with esbuild (what tsx runs anyway) and
 * imported from a data: URL. Its imports are resolved by esbuild from the config's folder and
 * written as absolute file: URLs, so Node loads them natively, as the very same modules the
 * CLI already has; `import.meta.url`, `dirname` and `filename` are those of the config file.
 *
 * Returns undefined, and the caller falls back to tsx, when this cannot work: the config
 * imports another TypeScript file (it would need the loader too), esbuild is unavailable, or
 * the file does not compile (tsx then reports the error as usual). A config that compiles is
 * evaluated once, here; its own errors propagate.
 */
import { pathToFileURL } from 'node:url';
import { compileAlone } from '../loader/esbuild-externals.js';

const TS_FILE = /\.[cm]?tsx?$/;

/** Import a TypeScript config file's namespace, or undefined to say "use tsx". */
export async function importTsConfig(filepath: string): Promise<Record<string, unknown> | undefined> {
  let code: string;
  try {
    code = await transpile(filepath);
  } catch {
    return undefined;
  }
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as Record<string, unknown>;
}

/** Transpiles in flight: esbuild's service is stopped only when the last one ends. */
let inFlight = 0;

async function transpile(filepath: string): Promise<string> {
  const esbuild = await import('esbuild');
  inFlight++;
  try {
    return await compileAlone(esbuild, filepath, 'esm', (resolved, args) => {
      if (TS_FILE.test(resolved)) throw new Error(`${args.path} is TypeScript: load the config through tsx`);
      return pathToFileURL(resolved).href;
    });
  } finally {
    // Its service process is not needed again until task modules load. Stopping it under
    // another app's transpile (two createApp() at once) would leave that one waiting for ever.
    if (--inFlight === 0) void esbuild.stop();
  }
}
