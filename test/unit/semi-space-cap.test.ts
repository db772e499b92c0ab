import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { capSemiSpace } from '../../src/util/semi-space-cap.js';
import { evalInFreshNode, REPO } from '../support/helpers.js';

/** In a fresh node process: cap at `mib`, allocate as a drain does, report what happened. */
function allocateUnderCap(mib: number, nodeArgs: string[] = [], options: { thread?: boolean } = {}): { state: string; maxMib: number } {
  const util = path.join(REPO, 'src', 'util', 'semi-space-cap.ts');
  // A worker thread's start puts V8's flags back to their defaults; the thread pool reasserts.
  const thread = `
    const { Worker } = await import('node:worker_threads');
    const t = new Worker('setTimeout(() => {}, 60_000)', { eval: true });
    await new Promise((resolve) => t.once('online', resolve));
    reassertSemiSpaceCap();
    t.unref();`;
  const script = `
    import { capSemiSpace, reassertSemiSpaceCap, semiSpaceBytes } from ${JSON.stringify(util)};
    const cap = capSemiSpace(${mib});
    ${options.thread ? thread : ''}
    const ring = new Array(4096);
    let max = semiSpaceBytes();
    for (let i = 0; i < 2_000_000; i++) {
      ring[i % ring.length] = { i, s: 'x' + i, a: [i] };
      if (i % 10_000 === 0) max = Math.max(max, semiSpaceBytes());
    }
    if (cap.state === 'capped') cap.stop();
    console.log(JSON.stringify({ state: cap.state, maxMib: max / 1048576 }));`;
  return evalInFreshNode<{ state: string; maxMib: number }>(script, nodeArgs);
}

describe('worker young-generation cap', () => {
  it('keeps the semi-spaces at the cap while V8 would grow them to 16 MiB', () => {
    const uncapped = allocateUnderCap(0);
    assert.equal(uncapped.state, 'off');
    assert.ok(uncapped.maxMib > 4, `without a cap the semi-space grew to ${uncapped.maxMib} MiB`);
    const capped = allocateUnderCap(2);
    assert.equal(capped.state, 'capped');
    assert.ok(capped.maxMib <= 2, `capped at 2 MiB, reached ${capped.maxMib} MiB`);
  });

  it('holds after a worker thread starts (which resets V8 flags)', () => {
    const r = allocateUnderCap(2, [], { thread: true });
    assert.ok(r.maxMib <= 2, `capped at 2 MiB with a thread started, reached ${r.maxMib} MiB`);
  });

  it("leaves the young generation to node's own flags when the operator set them", () => {
    assert.equal(capSemiSpace(4, '--max-old-space-size=512 --max-semi-space-size=8').state, 'node-flags');
    assert.equal(capSemiSpace(4, '--semi_space_growth_factor=1').state, 'node-flags');
    const r = allocateUnderCap(2, ['--max-semi-space-size=8']);
    assert.equal(r.state, 'node-flags');
    assert.ok(r.maxMib > 2, `the operator's 8 MiB applied, not the 2 MiB cap (reached ${r.maxMib} MiB)`);
  });
});
