/**
 * Signed remote control (src/core/control-signature.ts): what a worker with a secret accepts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/load-config.js';
import { validateUserConfig } from '../../src/config/schema.js';
import { SIGNATURE_HEADER, signControl, verifyControl } from '../../src/core/control-signature.js';

const SECRET = 'a-secret-of-32-characters-------';
const body = Buffer.from('{"method":"shutdown","arguments":{},"destination":null}');
const now = Date.UTC(2026, 10, 29, 12);

describe('control signatures', () => {
  it('a request signed with the secret within the window is accepted', () => {
    assert.deepEqual(verifyControl(signControl(body, SECRET, now), body, SECRET, 60, now + 59_000).ok, true);
  });

  it('unsigned, wrong secret, changed body, stale or future requests are refused, saying why', () => {
    const why = (v: ReturnType<typeof verifyControl>) => (v.ok ? 'ok' : v.why);
    assert.equal(why(verifyControl({}, body, SECRET, 60, now)), 'unsigned');
    assert.equal(why(verifyControl(signControl(body, 'another-secret-entirely', now), body, SECRET, 60, now)), 'bad signature');
    assert.equal(why(verifyControl(signControl(body, SECRET, now), Buffer.from('{"method":"ping"}'), SECRET, 60, now)), 'bad signature');
    assert.match(why(verifyControl(signControl(body, SECRET, now), body, SECRET, 60, now + 61_000)), /outside the 60s window/);
    assert.match(why(verifyControl(signControl(body, SECRET, now + 120_000), body, SECRET, 60, now)), /outside the 60s window/);
    assert.equal(why(verifyControl({ ...signControl(body, SECRET, now), [SIGNATURE_HEADER]: 'zz' }, body, SECRET, 60, now)), 'bad signature');
  });

  it('config: controlSecret needs 16 characters; remote control settings have defaults', () => {
    assert.throws(() => validateUserConfig({ controlSecret: 'short' }, 'test'), /controlSecret. must be a string of at least 16 characters$/);
    const c = resolveConfig({}, '/tmp');
    assert.deepEqual(
      [c.workerEnableRemoteControl, c.controlCommands, c.controlSecret, c.controlSignatureWindow, c.deadLetterQueue],
      [true, undefined, undefined, 60, 'celeryts.dlq'],
    );
  });
});
