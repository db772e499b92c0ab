/**
 * An esbuild plugin that bundles nothing: every import of the entry stays an import, and
 * `rewrite` decides what it becomes once esbuild has resolved it (tsconfig paths, `./x.js`
 * meaning `./x.ts`, package exports). The config loader and the task loader compile single
 * files with it and let Node load every dependency natively.
 */
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OnResolveArgs, Plugin } from 'esbuild';

/** Marks the resolutions the plugin asks esbuild for itself. */
const OWN = Symbol('celeryts');

/**
 * Given the file an import resolved to, the specifier to write instead, or undefined to keep
 * the import as written. Throwing aborts the build.
 */
export type RewriteImport = (resolvedPath: string, args: OnResolveArgs) => string | undefined;

/** The plugin: `node:` built-ins, virtual and unresolvable imports stay as written. */
export function externalImports(rewrite: RewriteImport): Plugin {
  return {
    name: 'celeryts-external-imports',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        // The entry itself, and our own build.resolve() below coming back through here.
        if (args.kind === 'entry-point' || args.pluginData === OWN) return undefined;
        if (args.path.startsWith('node:') || args.namespace !== 'file') return { path: args.path, external: true };
        const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: OWN });
        if (resolved.errors.length || resolved.external) return { path: args.path, external: true };
        return { path: rewrite(resolved.path, args) ?? args.path, external: true };
      });
    },
  };
}

/** What `compileAlone` needs of the esbuild module (imported lazily by its callers). */
export type Esbuild = typeof import('esbuild');

/**
 * Compile one file to `format` with every import left external (see `externalImports`), and
 * `import.meta.url`, `filename` and `dirname` those of the file. Rejects on a compile error.
 */
export async function compileAlone(esbuild: Esbuild, file: string, format: 'esm' | 'cjs', rewrite: RewriteImport): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [file],
    bundle: true, // only to see every import: each one is external (see the plugin)
    write: false,
    format,
    platform: 'node',
    target: `node${process.versions.node}`,
    logLevel: 'silent',
    // Errors thrown by tasks carry stack traces users read: map them to the TypeScript lines.
    sourcemap: format === 'cjs' ? 'inline' : false,
    sourcesContent: false,
    absWorkingDir: dirname(file), // so the map's source is the file's own name, relative to it
    define: {
      'import.meta.url': JSON.stringify(pathToFileURL(file).href),
      'import.meta.filename': JSON.stringify(file),
      'import.meta.dirname': JSON.stringify(dirname(file)),
    },
    plugins: [externalImports(rewrite)],
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no output for ${file}`);
  return out.text;
}
