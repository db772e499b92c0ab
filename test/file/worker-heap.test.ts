/**
 * How `celeryts worker` sizes its V8 heap, seen from inside its process (a module preloaded with
 * NODE_OPTIONS=--import records what V8 reports): the young generation is capped before config
 * and tasks load, and the process does not load node:domain.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { eventually, spawnWorker, tempBrokerUrl } from '../support/harness.js';
import { REPO, tempDir } from '../support/helpers.js';

/** A preload that writes, after every GC, the largest semi-space seen and whether node:domain is loaded. */
const PROBE = `
import v8 from 'node:v8';
import { renameSync, writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
let maxSemi = 0;
const record = () => {
  const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  maxSemi = Math.max(maxSemi, ns.space_size / 2);
  const domain = process.moduleLoadList.some((m) => m === 'NativeModule domain');
  writeFileSync(process.env.PROBE_OUT + '.tmp', JSON.stringify({ maxSemiMib: maxSemi / 1048576, domain }));
  renameSync(process.env.PROBE_OUT + '.tmp', process.env.PROBE_OUT);
};
new PerformanceObserver(record).observe({ entryTypes: ['gc'] });
process.on('SIGUSR2', record);
`;

describe('worker heap sizing (embedded broker)', () => {
  it('keeps the young generation at workerMaxSemiSpaceMb from start-up on, without node:domain', async () => {
    const dir = tempDir('heap-probe-');
    const probe = path.join(dir, 'probe.mjs');
    const out = path.join(dir, 'probe.json');
    writeFileSync(probe, PROBE);
    const worker = await spawnWorker(['-l', 'debug'], {
      cwd: path.join(REPO, 'tasks-example'),
      env: { CELERYTS_BROKER_URL: tempBrokerUrl(), NODE_OPTIONS: `--import ${probe}`, PROBE_OUT: out },
    });
    try {
      worker.child.kill('SIGUSR2');
      const seen = (await eventually(() =>
        existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as { maxSemiMib: number; domain: boolean }) : undefined,
      ))!;
      assert.match(worker.stderr(), /"oldSpaceGrowth":"50 %"/);
      assert.ok(seen.maxSemiMib <= 4, `semi-spaces reached ${seen.maxSemiMib} MiB while starting (cap 4)`);
      // node:domain wraps every emit and hooks every promise: a worker must not pay for the shell's REPL.
      assert.equal(seen.domain, false, 'node:domain is loaded in the worker');
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
});
