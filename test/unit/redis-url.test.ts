import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { isRedisUrl, parseRedisUrl } from '../../src/util/redis-url.js';

describe('Redis URLs', () => {
  it('reads host, port, db and credentials, and masks the password for display', () => {
    const r = parseRedisUrl('redis://user:s3cr%40t@cache.local:6380/4');
    assert.deepEqual(r.options, { host: 'cache.local', port: 6380, db: 4, username: 'user', password: 's3cr@t' });
    assert.equal(r.db, 4);
    assert.equal(r.displayUrl, 'redis://user:****@cache.local:6380/4');
  });

  it('defaults to 127.0.0.1:6379 db 0, and takes db from ?virtual_host as kombu does', () => {
    assert.deepEqual(parseRedisUrl('redis://').options, { host: '127.0.0.1', port: 6379, db: 0 });
    assert.equal(parseRedisUrl('redis://localhost?virtual_host=3').db, 3);
    assert.equal(parseRedisUrl('redis://:pw@localhost/2').options.password, 'pw');
  });

  it('turns rediss:// into TLS, with ssl_cert_reqs=none skipping certificate checks', () => {
    assert.deepEqual(parseRedisUrl('rediss://h:6390/0').options.tls, {});
    assert.deepEqual(parseRedisUrl('rediss://h/0?ssl_cert_reqs=CERT_NONE').options.tls, { rejectUnauthorized: false });
  });

  it('reads Unix sockets and Sentinel lists', () => {
    assert.deepEqual(parseRedisUrl('redis+socket:///run/redis.sock?virtual_host=5').options, { path: '/run/redis.sock', db: 5 });
    const s = parseRedisUrl('sentinel://:pw@s1:26379/1;sentinel://s2:26380?master_name=mymaster');
    assert.deepEqual(s.options.sentinels, [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26380 },
    ]);
    assert.equal(s.options.name, 'mymaster');
    assert.equal(s.db, 1);
    assert.equal(s.displayUrl, 'sentinel://:****@s1:26379/1;sentinel://s2:26380?master_name=mymaster');
  });

  it('refuses what it cannot read with a ConfigError that never shows the password', () => {
    assert.throws(
      () => parseRedisUrl('redis://u:topsecret@h/notadb'),
      (e: Error) => e instanceof ConfigError && !e.message.includes('topsecret'),
    );
    assert.throws(
      () => parseRedisUrl('sentinel://:topsecret@s1:26379'),
      (e: Error) => e instanceof ConfigError && /master name/.test(e.message) && !e.message.includes('topsecret'),
    );
    assert.equal(isRedisUrl('amqp://h'), false);
    assert.equal(isRedisUrl('rediss://h'), true);
  });
});
