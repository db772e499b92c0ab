/**
 * A worker started before RabbitMQ is reachable (docker-compose, a host booting) waits for it:
 * a line per attempt, then it connects and runs tasks. RabbitMQ "comes up" as a TCP proxy to
 * CELERYTS_TEST_AMQP_URL opened on a port the worker was already trying.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { createApp } from 'celeryts';
import { eventually, spawnWorker } from '../support/harness.js';

const AMQP = new URL(process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

const sockets = new Set<Socket>();
let proxy: Server | undefined;
after(() => {
  for (const s of sockets) s.destroy();
  proxy?.close();
});

it('a worker started while the broker is down retries with a line per attempt, then connects and runs tasks', async () => {
  const port = await freePort();
  const url = new URL(AMQP.href);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const queue = `startup.${randomUUID().slice(0, 8)}`;
  const w = await spawnWorker(['-Q', queue, '-n', `startup-${process.pid}@%h`], { env: { CELERYTS_BROKER_URL: url.href }, waitReady: false });
  try {
    await eventually(() => /Trying again in 1\.00 seconds\.\.\. \(1\/100\)/.test(w.stderr()), 10_000, 'a first retry line');
    assert.doesNotMatch(w.stderr(), / ready\./);
    proxy = createServer((client) => {
      const upstream = connect(Number(AMQP.port || 5672), AMQP.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => proxy!.listen(port, '127.0.0.1', r));
    await eventually(() => / ready\./.test(w.stderr()), 40_000, 'the worker to connect once the broker is up');
    const client = await createApp({ brokerUrl: AMQP.href, logLevel: 'silent', setAsCurrent: false });
    try {
      const r = await client.sendTask('proj.tasks.add', [2, 3], {}, { queue });
      assert.equal(await r.get({ timeout: 10 }), 5);
      await (await client.broker()).deleteQueue(queue);
    } finally {
      await client.close();
    }
  } finally {
    w.child.kill('SIGTERM');
    await w.exited;
  }
});
