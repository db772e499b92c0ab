/**
 * A private redis-server for the fault suite, on a free port with its data in a temp dir, so
 * restarting it never touches the machine's shared Redis on 6379. Append-only with fsync on
 * every write, as a broker that must not lose acknowledged work would be run; SHUTDOWN saves
 * it, and the restart reads it back. Stopped (and its dir removed) when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A running private Redis. */
export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** SHUTDOWN (saving its append-only file), stay down `downMs`, start again on the same data. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** A TCP port nothing listens on now. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Wait until something listens on 127.0.0.1:`port` (up) or nothing does. */
export async function untilListening(port: number, up: boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open === up) return;
    if (Date.now() > deadline) throw new Error(`redis on ${port} did not ${up ? 'start' : 'stop'}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Start a private redis-server. */
export async function privateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), 'celeryts-redis-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
      {
        stdio: 'ignore',
      },
    );
    // The server must not keep the test process alive: a test that fails before stopping it
    // would hang the whole fault run (the 'exit' handler below kills it).
    proc.unref();
    await untilListening(port, true);
  };
  const shutdown = async (): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    const s = createConnection({ port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    s.write('SHUTDOWN\r\n');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (p.exitCode === null) p.kill('SIGKILL');
    s.destroy();
  };
  await start();
  process.once('exit', () => {
    proc?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    async restart(downMs) {
      await shutdown();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    stop: shutdown,
  };
}
