/**
 * Beat through a RabbitMQ restart (private node: stop_app, 3 s, start_app): two `celeryts beat`
 * processes lose their connections, reconnect, and one leads again within 5 s of the broker's
 * return; no tick is sent twice, and the ticks that fell due during the outage are coalesced
 * into one sent when beat is back.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { beatProject, drainTicks, spawnCli, stop, waitForTicks, type CliProcess } from '../support/beat-harness.js';
import { privateRabbit, type PrivateRabbit } from './private-rabbit.js';

const OUTAGE_MS = 3000;
const RESUME_WITHIN_MS = 5000;

describe('beat through a RabbitMQ restart (private node)', () => {
  let rabbit: PrivateRabbit;
  const running: CliProcess[] = [];
  before(async () => {
    rabbit = await privateRabbit();
  });
  after(async () => {
    for (const p of running) await stop(p);
  });

  it('leads again within 5 s of the return; nothing sent twice; the outage costs one coalesced tick', async () => {
    const queue = `faults.beat.${randomUUID().slice(0, 8)}`;
    const dir = beatProject({
      brokerUrl: rabbit.url,
      beatKeyPrefix: `${queue}.store`,
      beatLockTimeout: 0.5,
      beatSchedule: { tick: { task: 'faults.tick', schedule: 1, options: { queue } } },
    });
    const a = spawnCli(['beat'], { cwd: dir });
    running.push(a);
    await a.waitFor(/beat: leading/);
    const b = spawnCli(['beat'], { cwd: dir });
    running.push(b);
    await b.waitFor(/standing by/);
    await waitForTicks(rabbit.url, queue, 2);
    await rabbit.stopApp();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await rabbit.startApp();
    const back = Date.now();
    await waitForTicks(rabbit.url, queue, 4, 20_000);
    const resumedAfter = Date.now() - back;
    assert.ok(resumedAfter < RESUME_WITHIN_MS + 2000, `ticks resumed ${resumedAfter} ms after the broker's return`);
    assert.equal(await stop(a), 0, a.output());
    assert.equal(await stop(b), 0, b.output());
    const ticks = await drainTicks(rabbit.url, queue);
    const dues = ticks.map((t) => t.due);
    assert.equal(new Set(ticks.map((t) => t.id)).size, ticks.length, `a tick was sent twice: ${dues.join(', ')}`);
    const gaps = dues.slice(1).map((d, i) => d - dues[i]!);
    assert.ok(
      gaps.every((g) => g % 1000 === 0),
      `on the 1 s grid: ${gaps.join(', ')}`,
    );
    assert.ok(gaps.filter((g) => g > 1000).length <= 1, `one coalesced gap at most: ${gaps.join(', ')}`);
  });
});
