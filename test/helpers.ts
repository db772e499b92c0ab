import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Messages captured from Python Celery 5.2.6 (../shared/protocol beside the repo). */
export function protocolFixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(path.resolve(REPO, '..', 'shared', 'protocol', `${name}.json`), 'utf8')) as T;
}
