/**
 * A pending wait is held strongly until it settles (issue 13.1): a caller that awaits `get()`
 * without a timeout, and keeps no other reference to its handle, still gets the result when a
 * garbage collection runs while the task is running.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { startInProcess, tempBrokerUrl, type InProcess } from '../support/harness.js';
import { testRedisUrl } from '../support/helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

for (const resultBackend of ['rpc://', testRedisUrl()]) {
  describe(`a wait without timeout survives garbage collection (file broker, ${resultBackend})`, () => {
    let w: InProcess;
    before(async () => {
      w = await startInProcess({ brokerUrl: tempBrokerUrl(), config: { defaultQueue: `gc-wait-${resultBackend.slice(0, 3)}-${process.pid}`, resultBackend } });
    });
    after(() => w.stop());

    it('delivers the result of a 2 s task to a caller whose only reference is the pending get()', async () => {
      // The handle lives only inside this function's frame, as in `await (await add.delay()).get()`.
      const wait = async (): Promise<string> => (await w.client.sendTask<string>('app.jobs.step', ['gc-survivor', 2000])).get();
      let settled: string | undefined;
      // Nothing but the wait's own promise chain refers to the handle: no race, no outer variable.
      void wait().then((v) => (settled = v));
      for (let i = 0; i < 10; i++) {
        await sleep(150);
        gc();
      }
      const deadline = Date.now() + 8000;
      while (settled === undefined && Date.now() < deadline) await sleep(50);
      assert.equal(settled, 'gc-survivor', 'the result reached the waiting caller after a GC during the wait');
    });
  });
}
