/**
 * Python reprs as Celery writes them into argsrepr/kwargsrepr headers and events: the expected
 * strings are what CPython 3.11's repr() prints for the same values.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argsRepr, safeRepr } from '../../src/core/wire/py-repr.js';

describe('Python reprs (argsrepr, kwargsrepr, events)', () => {
  it('quotes strings as Python does: single quotes unless the text has a quote and no double quote', () => {
    assert.equal(safeRepr("it's"), `"it's"`);
    assert.equal(safeRepr('say "hi"'), `'say "hi"'`);
    assert.equal(safeRepr(`both ' and "`), `'both \\' and "'`);
    assert.equal(safeRepr('a\\b\nc\tz\x01'), `'a\\\\b\\nc\\tz\\x01'`);
    assert.equal(safeRepr('plain'), `'plain'`);
  });

  it('numbers, None, booleans and nested containers', () => {
    assert.equal(safeRepr(1e21), '1e+21');
    assert.equal(safeRepr(Number.NaN), 'nan');
    assert.equal(safeRepr(-Infinity), '-inf');
    assert.equal(safeRepr([1, 'x', null, true, { k: [2.5] }]), "[1, 'x', None, True, {'k': [2.5]}]");
    assert.equal(safeRepr(new Map([['a', 1]])), "{'a': 1}");
    assert.equal(safeRepr(new Set()), 'set()');
  });

  it('argsrepr is the repr of a tuple', () => {
    assert.equal(argsRepr([1]), '(1,)');
    assert.equal(argsRepr([]), '()');
    assert.equal(argsRepr([1, 'a']), "(1, 'a')");
  });

  it('a cycle prints [...] and a huge value is cut at maxLen with ...', () => {
    const a: unknown[] = [1];
    a.push(a);
    assert.equal(safeRepr(a), '[1, [...]]');
    const long = safeRepr('x'.repeat(5000), 100);
    assert.equal(long.length, 100);
    assert.ok(long.endsWith('...'));
    assert.ok(
      safeRepr(
        Array.from({ length: 100_000 }, (_, i) => i),
        50,
      ).length <= 50,
    );
  });
});
