import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { REPO } from '../support/helpers.js';

/** Every `class X extends ...Error { ... super('CELERYTS_Y', ...)` in src/, as [code, class]. */
function codesInSource(): Map<string, string> {
  const out = new Map<string, string>();
  const files = readdirSync(path.join(REPO, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const text = readFileSync(path.join(REPO, 'src', file), 'utf8');
    for (const m of text.matchAll(/class (\w+) extends \w+[\s\S]*?super\(\s*'(CELERYTS_[A-Z0-9_]+)'/g)) {
      // The lazy match may run across a class without a code into the next one: keep the nearest class name.
      const name = [...m[0].matchAll(/class (\w+) extends/g)].at(-1)![1]!;
      out.set(m[2]!, name);
    }
  }
  return out;
}

/** README's "Error codes" table, as [code, class]. */
function codesInReadme(): Map<string, string> {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Error codes'));
  const table = section.slice(0, section.indexOf('\n## ') > 0 ? section.indexOf('\n## ') : undefined);
  return new Map([...table.matchAll(/^\| `(CELERYTS_[A-Z0-9_]+)` \| `(\w+)` \|/gm)].map((m) => [m[1]!, m[2]!]));
}

it("README's error-code table lists every code celeryts raises, with its class, and no other", () => {
  const source = codesInSource();
  const readme = codesInReadme();
  assert.ok(source.size >= 12, `found only ${source.size} codes in src/`);
  const missing = [...source].filter(([code]) => !readme.has(code)).map(([code, cls]) => `${code} (${cls})`);
  assert.deepEqual(missing, [], 'codes raised in src/ but missing from README.md "Error codes"');
  const stale = [...readme.keys()].filter((code) => !source.has(code));
  assert.deepEqual(stale, [], 'codes in README.md that src/ no longer raises');
  for (const [code, cls] of source) assert.equal(readme.get(code), cls, `${code} is raised by ${cls}`);
});
