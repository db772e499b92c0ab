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
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildOptions, PluginBuild } from 'esbuild';

const TS_FILE = /\.[cm]?tsx?$/;
/** Marks the resolutions the plugin asks esbuild for itself. */
const OWN = Symbol('celeryts');

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

async function transpile(filepath: string): Promise<string> {
  const esbuild = await import('esbuild');
  const url = pathToFileURL(filepath).href;
  const options: BuildOptions & { write: false } = {
    entryPoints: [filepath],
    bundle: true, // only to see every import: each one is external (see the plugin)
    write: false,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node}`,
    logLevel: 'silent',
    define: {
      'import.meta.url': JSON.stringify(url),
      'import.meta.filename': JSON.stringify(filepath),
      'import.meta.dirname': JSON.stringify(dirname(filepath)),
    },
    plugins: [{ name: 'celeryts-external-imports', setup: externalImports }],
  };
  try {
    const out = (await esbuild.build(options)).outputFiles[0];
    if (!out) throw new Error('esbuild produced no output');
    return out.text;
  } finally {
    // Its service process is not needed again (task modules load through tsx, which has its own).
    void esbuild.stop();
  }
}

/** Every import stays an import, of an absolute file: URL; a TypeScript one aborts (tsx then loads the config). */
function externalImports(build: PluginBuild): void {
  build.onResolve({ filter: /.*/ }, async (args) => {
    // The entry itself, and our own build.resolve() below coming back through here.
    if (args.kind === 'entry-point' || args.pluginData === OWN) return undefined;
    if (args.path.startsWith('node:') || args.namespace !== 'file') return { path: args.path, external: true };
    const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: OWN });
    if (resolved.errors.length || resolved.external) return { path: args.path, external: true };
    if (TS_FILE.test(resolved.path)) throw new Error(`${args.path} is TypeScript: load the config through tsx`);
    return { path: pathToFileURL(resolved.path).href, external: true };
  });
}
