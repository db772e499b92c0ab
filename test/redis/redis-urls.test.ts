/**
 * The URL forms of the Redis broker against real servers of their own (private redis-server
 * processes on free ports, stopped at the end): `rediss://` with a password and a db number on a
 * TLS-only server with a self-signed certificate, and `sentinel://` through a Sentinel that
 * names the master. Each runs the quick start: a worker, then `celeryts call --wait`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, untilListening } from '../faults/private-redis.js';
import { cli, spawnWorker } from '../support/harness.js';
import { REPO, tempDir } from '../support/helpers.js';

const servers: ChildProcess[] = [];
after(() => {
  for (const s of servers) s.kill('SIGKILL');
});

/** Start a redis-server (or Sentinel) with `args`; resolves once `port` accepts connections. */
async function server(args: string[], port: number, cwd: string): Promise<void> {
  const proc = spawn('redis-server', args, { cwd, stdio: 'ignore' });
  servers.push(proc);
  await untilListening(port, true);
}

/** Start a worker on `url`, call proj.tasks.add(2, 3) and wait for 5. */
async function quickStart(url: string): Promise<string> {
  const cwd = path.join(REPO, 'tasks-example');
  const env = { CELERYTS_BROKER_URL: url };
  const worker = await spawnWorker([], { cwd, env });
  try {
    const r = cli(['call', 'proj.tasks.add', '2', '3', '--wait', '--timeout', '15'], { cwd, env });
    assert.equal(r.status, 0, r.stderr + worker.output());
    assert.equal(r.stdout.trim().split('\n')[1], '5');
    return worker.output();
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
}

describe('Redis broker URLs against their own servers', () => {
  it('rediss:// with a password and a db number: TLS only, self-signed certificate (ssl_cert_reqs=none)', async () => {
    const dir = tempDir('redis-tls-');
    const cert = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=127.0.0.1'],
      { cwd: dir },
    );
    assert.equal(cert.status, 0, String(cert.stderr));
    const port = await freePort();
    const tls = [
      '--tls-port',
      String(port),
      '--tls-cert-file',
      'cert.pem',
      '--tls-key-file',
      'key.pem',
      '--tls-ca-cert-file',
      'cert.pem',
      '--tls-auth-clients',
      'no',
    ];
    await server(['--port', '0', '--bind', '127.0.0.1', ...tls, '--requirepass', 's3cret', '--save', '', '--appendonly', 'no'], port, dir);
    const out = await quickStart(`rediss://:s3cret@127.0.0.1:${port}/3?ssl_cert_reqs=none`);
    assert.doesNotMatch(out, /s3cret/, 'the password never reaches the logs');
    // The tasks went through db 3 of the TLS server: the celery queue's binding is there.
    const keys = spawnSync(
      'redis-cli',
      ['-p', String(port), '--tls', '--insecure', '--no-auth-warning', '-a', 's3cret', '-n', '3', 'exists', '_kombu.binding.celery'],
      { encoding: 'utf8' },
    );
    assert.equal(keys.stdout.trim(), '1', keys.stderr);
  });

  it('sentinel://: the worker and the client find the master through Sentinel', async () => {
    const dir = tempDir('redis-sentinel-');
    const master = await freePort();
    await server(['--port', String(master), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], master, dir);
    const sentinel = await freePort();
    writeFileSync(path.join(dir, 'sentinel.conf'), `port ${sentinel}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 ${master} 1\n`);
    await server([path.join(dir, 'sentinel.conf'), '--sentinel'], sentinel, dir);
    await quickStart(`sentinel://127.0.0.1:${sentinel}/2?master_name=mymaster`);
    const keys = spawnSync('redis-cli', ['-p', String(master), '-n', '2', 'exists', '_kombu.binding.celery'], { encoding: 'utf8' });
    assert.equal(keys.stdout.trim(), '1', keys.stderr);
  });
});
