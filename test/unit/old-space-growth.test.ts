import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { capOldSpaceGrowth } from '../../src/util/old-space-growth.js';
import { evalInFreshNode, REPO } from '../support/helpers.js';

/**
 * In a fresh node process: set the growth cap, keep ~15 MB live and churn objects that live long
 * enough to be promoted (as a draining worker's in-flight messages are); report old space's peak.
 */
function peakOldSpace(percent: number, nodeArgs: string[] = []): { state: string; peakMib: number } {
  const util = path.join(REPO, 'src', 'util', 'old-space-growth.ts');
  const script = `
    import v8 from 'node:v8';
    import { capOldSpaceGrowth } from ${JSON.stringify(util)};
    const growth = capOldSpaceGrowth(${percent});
    const live = [];
    for (let i = 0; i < 200_000; i++) live.push({ i, s: 'live' + i });
    const ring = new Array(100_000);
    let peak = 0;
    for (let i = 0; i < 4_000_000; i++) {
      ring[i % ring.length] = { i, s: 'x' + i, a: [i] };
      if (i % 20_000 === 0) peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size);
    }
    console.log(JSON.stringify({ state: growth.state, peakMib: peak / 1048576, live: live.length }));`;
  return evalInFreshNode<{ state: string; peakMib: number }>(script, nodeArgs);
}

describe('worker old-generation growth cap', () => {
  it('keeps promoted garbage near the live heap where V8 would let old space grow to several times it', () => {
    const v8Own = peakOldSpace(0);
    assert.equal(v8Own.state, 'off');
    const capped = peakOldSpace(50);
    assert.equal(capped.state, 'capped');
    assert.ok(
      capped.peakMib < v8Own.peakMib * 0.7,
      `capped at 50 %: old space peaked at ${capped.peakMib.toFixed(1)} MiB, V8's own factor ${v8Own.peakMib.toFixed(1)} MiB`,
    );
  });

  it("leaves the growth to node's own flag when the operator set it", () => {
    assert.equal(capOldSpaceGrowth(50, '--max-old-space-size=512 --heap-growing-percent=300').state, 'node-flags');
    assert.equal(capOldSpaceGrowth(50, '--heap_growing_percent=10').state, 'node-flags');
    const r = peakOldSpace(50, ['--heap-growing-percent=300']);
    assert.equal(r.state, 'node-flags');
  });
});
