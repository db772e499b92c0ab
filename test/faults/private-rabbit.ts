/**
 * A private RabbitMQ node for the fault suite, so stopping and restarting the broker never
 * touches the machine's shared node on 5672 (other suites and people use it).
 *
 * The node has its own name, ports, data, logs, config and Erlang cookie under a temp dir
 * (HOME points there, so the CLI tools and the node agree on a fresh cookie). It starts once
 * per `node --test` run: the first test file that asks starts it and records it in a state file
 * keyed by the test runner's pid; later files reuse it. A detached watchdog stops it
 * (`rabbitmqctl stop`) and deletes the temp dir once the runner exits, however the run ends.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where the server scripts live: Debian's real scripts (not the su-to-rabbitmq wrappers in /usr/sbin), else PATH. */
const SBIN = process.env['CELERYTS_RABBITMQ_SBIN'] ?? (existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ? '/usr/lib/rabbitmq/bin' : '');
export const tool = (name: string): string => (SBIN ? path.join(SBIN, name) : name);

/** The running private node. */
export interface PrivateRabbit {
  /** amqp://guest:guest@127.0.0.1:PORT (guest may log in over loopback). */
  readonly url: string;
  readonly port: number;
  readonly nodeName: string;
  /** Run `rabbitmqctl -n NODE ...args`; resolves with stdout. */
  ctl(...args: string[]): Promise<string>;
  /** `rabbitmqctl stop_app`: every connection is closed and the listener goes away. */
  stopApp(): Promise<void>;
  /** `rabbitmqctl start_app`: resolves once the node is booted and accepting connections again. */
  startApp(): Promise<void>;
}

interface State {
  dir: string;
  nodeName: string;
  port: number;
  distPort: number;
}

/** The process whose end ends the node: the test runner when run by `node --test`, else this process. */
function ownerPid(): number {
  return process.env['NODE_TEST_CONTEXT']?.startsWith('child') ? process.ppid : process.pid;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function envFor(state: State): NodeJS.ProcessEnv {
  const { dir } = state;
  return {
    ...process.env,
    HOME: dir, // the Erlang cookie of this node and of its CLI calls
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'), // not /etc/rabbitmq's, which names the shared node
    RABBITMQ_NODENAME: state.nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(state.port),
    RABBITMQ_DIST_PORT: String(state.distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'), // no management listener on 15672
    RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
}

async function ctlFor(state: State, args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await run(tool('rabbitmqctl'), ['-q', '-n', state.nodeName, ...args], { env: envFor(state), timeout: timeoutMs });
  return stdout;
}

async function awaitStartup(state: State, deadlineMs: number): Promise<void> {
  for (;;) {
    try {
      await ctlFor(state, ['await_startup', '--timeout', '30'], 35_000);
      return;
    } catch (err) {
      // Before the node registers with epmd, await_startup fails at once: try again.
      if (Date.now() > deadlineMs) throw new Error(`private RabbitMQ ${state.nodeName} did not start: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/** Stop the node and delete its dir once `owner` has exited (a detached process of its own). */
function startWatchdog(state: State, owner: number): void {
  const script = `
    const { execFileSync } = require('node:child_process');
    const { rmSync } = require('node:fs');
    const [owner, ctl, node, dir, env] = [Number(process.argv[1]), process.argv[2], process.argv[3], process.argv[4], JSON.parse(process.argv[5])];
    const started = Date.now();
    const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
    const timer = setInterval(() => {
      if (alive(owner) && Date.now() - started < 2 * 3600e3) return;
      clearInterval(timer);
      try { execFileSync(ctl, ['-q', '-n', node, 'stop'], { env, timeout: 60000, stdio: 'ignore' }); } catch {}
      rmSync(dir, { recursive: true, force: true });
    }, 500);`;
  const child = spawn(process.execPath, ['-e', script, String(owner), tool('rabbitmqctl'), state.nodeName, state.dir, JSON.stringify(envFor(state))], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}

async function start(stateFile: string, owner: number): Promise<State> {
  const dir = path.dirname(stateFile);
  const state: State = { dir, nodeName: `celeryts-faults-${owner}@localhost`, port: await freePort(), distPort: await freePort() };
  for (const d of ['mnesia', 'log']) mkdirSync(path.join(dir, d), { recursive: true });
  writeFileSync(
    path.join(dir, 'rabbitmq.conf'),
    [`listeners.tcp.1 = 127.0.0.1:${state.port}`, 'log.console = false', 'log.file.level = warning', ''].join('\n'),
  );
  writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(path.join(dir, 'rabbitmq-env.conf'), '');
  startWatchdog(state, owner);
  const server = spawn(tool('rabbitmq-server'), ['-detached'], { env: envFor(state), stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot run rabbitmq-server (${tool('rabbitmq-server')}): ${err.message}`)));
    server.once('exit', () => resolve());
  });
  await awaitStartup(state, Date.now() + 90_000);
  writeFileSync(stateFile, JSON.stringify(state));
  return state;
}

let cached: Promise<PrivateRabbit> | undefined;

/** The suite's private node: started on first use in this test run, reused after. */
export function privateRabbit(): Promise<PrivateRabbit> {
  cached ??= (async () => {
    const owner = ownerPid();
    const stateFile = path.join(tmpdir(), `celeryts-faults-${owner}`, 'state.json');
    mkdirSync(path.dirname(stateFile), { recursive: true });
    let state: State | undefined;
    if (existsSync(stateFile)) {
      state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
      // A node left stopped (stop_app) by a failed test: bring it back.
      await ctlFor(state, ['start_app']).catch(() => undefined);
      await awaitStartup(state, Date.now() + 30_000);
    } else {
      state = await start(stateFile, owner);
    }
    const s = state;
    return {
      url: `amqp://guest:guest@127.0.0.1:${s.port}`,
      port: s.port,
      nodeName: s.nodeName,
      ctl: (...args: string[]) => ctlFor(s, args),
      stopApp: async () => void (await ctlFor(s, ['stop_app'])),
      startApp: async () => void (await ctlFor(s, ['start_app'])),
    };
  })();
  return cached;
}
