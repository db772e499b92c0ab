/**
 * The page's files (plain HTML, CSS and ES modules; no build step), read once at start-up and
 * served from memory. They live in src/dashboard/static/ and are published with the package,
 * so the same path resolves from src/ (tsx) and from dist/ (the built CLI).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the page's files are. */
export const STATIC_DIR = fileURLToPath(new URL('../../src/dashboard/static/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** One file ready to send. */
export interface StaticFile {
  body: Buffer;
  type: string;
}

/** Load every file of STATIC_DIR, keyed by its name. */
export function loadStaticFiles(dir = STATIC_DIR): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type) files.set(name, { body: readFileSync(path.join(dir, name)), type });
  }
  return files;
}
