import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { REPO } from '../support/helpers.js';

it('TypeScript infers task argument and result types: bad calls fail to compile, results are typed', () => {
  const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(REPO, 'test/fixtures/types/tsconfig.json')], { encoding: 'utf8' });
  // Every @ts-expect-error line must be an error and nothing else may be: tsc exits 0 only then.
  assert.equal(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
});
