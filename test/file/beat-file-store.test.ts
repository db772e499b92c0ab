/**
 * Beat's file store up close (no beat process): the lock files, taking over from a dead owner,
 * fencing a leader whose lock was superseded, and records that cannot be read.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FileBeatStore } from '../../src/beat/file/file-store.js';
import { LeadershipLostError } from '../../src/core/errors.js';
import { Layout } from '../../src/transport/file/layout.js';
import { Liveness } from '../../src/transport/file/owner.js';
import { tempDir } from '../support/helpers.js';

const errors: string[] = [];
const log = { debug() {}, info() {}, warn() {}, error: (_o: object, msg: string) => void errors.push(msg) };

function store(root: string): FileBeatStore {
  const layout = new Layout(root);
  return new FileBeatStore(root, layout.tmp, new Liveness(layout.owners), 'celeryts.beat', log);
}

describe('beat file store', () => {
  it('one instance leads; a clean release hands over at once', async () => {
    const root = tempDir('beatstore-');
    const [a, b] = [store(root), store(root)];
    const lead = await a.tryLead();
    assert.ok(lead);
    assert.equal(await b.tryLead(), undefined, 'a live leader in this very process still holds it');
    await lead.writeState({ tick: { last: 5, total: 1, schedule: 'every 1s' } });
    await lead.release();
    const next = await b.tryLead();
    assert.ok(next);
    assert.deepEqual(await next.readState(), { tick: { last: 5, total: 1, schedule: 'every 1s' } });
    assert.deepEqual(readdirSync(path.join(root, 'celeryts.beat', 'leader')), ['000000000002'], 'older lock files are removed');
    await next.release();
  });

  it("takes over a dead process's lock at the next attempt", async () => {
    const root = tempDir('beatstore-');
    mkdirSync(path.join(root, 'celeryts.beat', 'leader'), { recursive: true });
    writeFileSync(path.join(root, 'celeryts.beat', 'leader', '000000000007'), JSON.stringify({ owner: '4194301-12345.beat-dead', at: 0 }));
    const lead = await store(root).tryLead();
    assert.ok(lead, 'pid 4194301 does not run: its lock is free');
    await lead.release();
  });

  it('a leader whose lock was superseded can no longer write', async () => {
    const root = tempDir('beatstore-');
    const lead = await store(root).tryLead();
    assert.ok(lead);
    writeFileSync(path.join(root, 'celeryts.beat', 'leader', '000000000002'), JSON.stringify({ owner: `${process.pid}-0.beat-other`, at: 0 }));
    await assert.rejects(lead.writeState({}), LeadershipLostError);
    assert.equal(lead.signal.aborted, true);
    const staged = lead.prepareState?.({});
    await assert.rejects(staged!, LeadershipLostError, 'a staged write checks too');
  });

  it('unreadable entries and state are logged and left out, never fatal', async () => {
    const root = tempDir('beatstore-');
    const s = store(root);
    await s.setEntry('good', { entry: { task: 't', schedule: 5 }, source: 'runtime', since: 1 });
    writeFileSync(path.join(root, 'celeryts.beat', 'entries', 'torn.json'), '{"entry": {"task"');
    writeFileSync(path.join(root, 'celeryts.beat', 'state.json'), '{"v":1,"state":{"good":{"last":1,"total":0,"schedule":"every 5s"},"bad":{"last":"x"}}}');
    assert.deepEqual([...(await s.entries()).keys()], ['good']);
    assert.deepEqual(Object.keys(await s.readState()), ['good']);
    assert.ok(errors.some((m) => /stored entry torn is unreadable/.test(m)));
    assert.ok(errors.some((m) => /recorded state of bad is unreadable/.test(m)));
    assert.equal(await s.removeEntry('good'), true);
    assert.equal(await s.removeEntry('good'), false);
  });
});
