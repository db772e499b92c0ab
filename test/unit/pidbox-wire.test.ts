import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodePidboxReply, encodePidboxRequest, parsePidboxReply, parsePidboxRequest } from '../../src/core/wire/pidbox.js';
import { protocolFixture } from '../support/helpers.js';

interface Captured {
  body: Record<string, unknown>;
}
const fixture = protocolFixture<{ requests: Captured[]; replies: Captured[] }>('pidbox');

describe('pidbox wire shapes (captured from Celery 5.2.6)', () => {
  it('reads every captured request, and writes it back byte for byte as kombu did', () => {
    for (const { body } of fixture.requests) {
      const req = parsePidboxRequest(Buffer.from(JSON.stringify(body)));
      assert.ok(req, JSON.stringify(body));
      assert.equal(req.method, body['method']);
      assert.deepEqual(JSON.parse(encodePidboxRequest(req).toString()), body);
    }
  });

  it('reads captured replies as [node, answer]; junk is no request and no reply', () => {
    for (const { body } of fixture.replies) {
      const pairs = parsePidboxReply(Buffer.from(JSON.stringify(body)));
      assert.deepEqual(Object.fromEntries(pairs), body);
      const [node, answer] = pairs[0]!;
      assert.deepEqual(JSON.parse(encodePidboxReply(node, answer).toString()), { [node]: answer });
    }
    for (const junk of ['not json', '[1]', 'null', '{"arguments": {}}']) {
      assert.equal(parsePidboxRequest(Buffer.from(junk)), undefined, junk);
      if (junk !== '{"arguments": {}}') assert.deepEqual(parsePidboxReply(Buffer.from(junk)), [], junk);
    }
  });
});
