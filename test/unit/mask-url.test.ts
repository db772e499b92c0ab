import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskUrl, maskUrlsIn, redactPassword } from '../../src/util/mask-url.js';

describe('masking passwords', () => {
  it('masks the whole password when it holds an unencoded @ together with / ? or #', () => {
    assert.equal(maskUrl('amqp://user:p@ss/word@host/vh'), 'amqp://user:****@host/vh');
    assert.equal(maskUrl('amqp://user:p@ss#frag@host:5672//'), 'amqp://user:****@host:5672//');
    assert.equal(maskUrl('amqp://user:a@b?c@host'), 'amqp://user:****@host');
    assert.equal(maskUrl('amqp://u:pa@ss@host/v'), 'amqp://u:****@host/v');
    assert.equal(maskUrl('ampq://user:S3cret@host'), 'ampq://user:****@host', 'whatever the scheme');
  });

  it('leaves URLs without a password alone', () => {
    for (const u of ['amqp://localhost', 'amqp://user@host:5672/v', 'file:///var/celeryts', 'amqp://host/v?x=a@b']) assert.equal(maskUrl(u), u);
  });

  it('masks every URL quoted in free text', () => {
    assert.equal(
      maskUrlsIn(`'brokerUrl' must start with amqp:// (got "ampq://user:S3c@ret/x@rabbit:5672//"), see amqp://a:b@c`),
      `'brokerUrl' must start with amqp:// (got "ampq://user:****@rabbit:5672//"), see amqp://a:****@c`,
    );
  });

  it('redacts the whole password, raw and percent-decoded, from text', () => {
    assert.equal(redactPassword('login p@ss/word failed', 'amqp://u:p@ss/word@h'), 'login **** failed');
  });
});
