/**
 * A private three-node RabbitMQ cluster for the cluster fault suite (issue 18), beside the
 * single private node of private-rabbit.ts and never touching the machine's node on 5672.
 *
 * Three nodes with their own names, ports and data dirs under one temp dir share one Erlang
 * cookie (HOME is that dir), start in parallel, and nodes 2 and 3 join node 1
 * (`rabbitmqctl join_cluster`). Like the single node, the cluster starts once per `node --test`
 * run (a state file keyed by the runner's pid) and a detached watchdog stops every node and
 * deletes the dir once the runner exits, however the run ends.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, tool } from './private-rabbit.js';

const run = promisify(execFile);

/** One node of the cluster. */
export interface ClusterNode {
  readonly index: number;
  /** Erlang node name, e.g. celeryts-c1-123@localhost. */
  readonly name: string;
  readonly port: number;
  /** amqp://guest:guest@127.0.0.1:PORT */
  readonly url: string;
}

/** The running cluster. */
export interface PrivateCluster {
  readonly nodes: readonly ClusterNode[];
  /** All nodes' URLs as a broker URL list (`a;b;c`), starting with node `first`. */
  urlList(first?: number): string;
  /** `rabbitmqctl -n NODE ...args` on node `index`; resolves with stdout. */
  ctl(index: number, ...args: string[]): Promise<string>;
  /** SIGKILL the Erlang VM of node `index` (no clean shutdown: as a crashed machine). */
  kill(index: number): Promise<void>;
  /** Start node `index` again (after kill); resolves once it is booted and back in the cluster. */
  restart(index: number): Promise<void>;
  stopApp(index: number): Promise<void>;
  startApp(index: number): Promise<void>;
  /** The index of the node holding the leader of quorum queue `queue`. */
  leaderOf(queue: string): Promise<number>;
}

interface NodeState {
  name: string;
  port: number;
  distPort: number;
}

interface State {
  dir: string;
  nodes: NodeState[];
}

function ownerPid(): number {
  return process.env['NODE_TEST_CONTEXT']?.startsWith('child') ? process.ppid : process.pid;
}

function envFor(dir: string, n: NodeState, i: number): NodeJS.ProcessEnv {
  const nodeDir = path.join(dir, `n${i + 1}`);
  return {
    ...process.env,
    HOME: dir, // one Erlang cookie for the three nodes and their CLI calls
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_NODENAME: n.name,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(n.port),
    RABBITMQ_DIST_PORT: String(n.distPort),
    RABBITMQ_MNESIA_BASE: path.join(nodeDir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(nodeDir, 'log'),
    RABBITMQ_CONFIG_FILE: path.join(nodeDir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: path.join(nodeDir, 'rabbitmq.pid'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
}

async function ctlFor(state: State, i: number, args: string[], timeoutMs = 60_000): Promise<string> {
  const n = state.nodes[i]!;
  const { stdout } = await run(tool('rabbitmqctl'), ['-q', '-n', n.name, ...args], { env: envFor(state.dir, n, i), timeout: timeoutMs });
  return stdout;
}

async function awaitStartup(state: State, i: number, deadlineMs: number): Promise<void> {
  for (;;) {
    try {
      await ctlFor(state, i, ['await_startup', '--timeout', '30'], 35_000);
      return;
    } catch (err) {
      if (Date.now() > deadlineMs) throw new Error(`cluster node ${state.nodes[i]!.name} did not start: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

async function bootNode(state: State, i: number): Promise<void> {
  const server = spawn(tool('rabbitmq-server'), ['-detached'], { env: envFor(state.dir, state.nodes[i]!, i), stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot run rabbitmq-server: ${err.message}`)));
    server.once('exit', () => resolve());
  });
  await awaitStartup(state, i, Date.now() + 120_000);
}

function pidOf(state: State, i: number): number | undefined {
  const file = path.join(state.dir, `n${i + 1}`, 'rabbitmq.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Stop every node (rabbitmqctl stop, else SIGKILL by pid file) and delete the dir once `owner` has exited. */
function startWatchdog(state: State, owner: number): void {
  const script = `
    const { execFileSync } = require('node:child_process');
    const { readFileSync, rmSync } = require('node:fs');
    const path = require('node:path');
    const [owner, ctl, statePath] = [Number(process.argv[1]), process.argv[2], process.argv[3]];
    const started = Date.now();
    const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
    const timer = setInterval(() => {
      if (alive(owner) && Date.now() - started < 2 * 3600e3) return;
      clearInterval(timer);
      const { dir, envs } = JSON.parse(readFileSync(statePath, 'utf8'));
      envs.forEach((env, i) => {
        try { execFileSync(ctl, ['-q', '-n', env.RABBITMQ_NODENAME, 'stop'], { env, timeout: 60000, stdio: 'ignore' }); } catch {}
        try { process.kill(Number(readFileSync(path.join(dir, 'n' + (i + 1), 'rabbitmq.pid'), 'utf8').trim()), 'SIGKILL'); } catch {}
      });
      rmSync(dir, { recursive: true, force: true });
    }, 500);`;
  const statePath = path.join(state.dir, 'watchdog.json');
  writeFileSync(statePath, JSON.stringify({ dir: state.dir, envs: state.nodes.map((n, i) => envFor(state.dir, n, i)) }));
  const child = spawn(process.execPath, ['-e', script, String(owner), tool('rabbitmqctl'), statePath], { detached: true, stdio: 'ignore' });
  child.unref();
}

async function start(stateFile: string, owner: number): Promise<State> {
  const dir = path.dirname(stateFile);
  const nodes: NodeState[] = [];
  for (let i = 0; i < 3; i++) nodes.push({ name: `celeryts-c${i + 1}-${owner}@localhost`, port: await freePort(), distPort: await freePort() });
  const state: State = { dir, nodes };
  writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(path.join(dir, 'rabbitmq-env.conf'), '');
  nodes.forEach((n, i) => {
    const nodeDir = path.join(dir, `n${i + 1}`);
    for (const d of ['mnesia', 'log']) mkdirSync(path.join(nodeDir, d), { recursive: true });
    writeFileSync(
      path.join(nodeDir, 'rabbitmq.conf'),
      [`listeners.tcp.1 = 127.0.0.1:${n.port}`, 'log.console = false', 'log.file.level = warning', 'cluster_partition_handling = autoheal', ''].join('\n'),
    );
  });
  startWatchdog(state, owner);
  await Promise.all(nodes.map((_, i) => bootNode(state, i)));
  for (const i of [1, 2]) {
    await ctlFor(state, i, ['stop_app']);
    await ctlFor(state, i, ['join_cluster', nodes[0]!.name]);
    await ctlFor(state, i, ['start_app']);
    await awaitStartup(state, i, Date.now() + 60_000);
  }
  writeFileSync(stateFile, JSON.stringify(state));
  return state;
}

let cached: Promise<PrivateCluster> | undefined;

/** The suite's private cluster: started on first use in this test run, reused after. */
export function privateCluster(): Promise<PrivateCluster> {
  cached ??= (async () => {
    const owner = ownerPid();
    const stateFile = path.join(tmpdir(), `celeryts-cluster-${owner}`, 'state.json');
    mkdirSync(path.dirname(stateFile), { recursive: true });
    let state: State;
    if (existsSync(stateFile)) {
      state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
      // A node left stopped or killed by a failed test: bring it back.
      for (let i = 0; i < 3; i++) {
        if (
          !pidOf(state, i) ||
          (await ctlFor(state, i, ['status'], 20_000).then(
            () => false,
            () => true,
          ))
        )
          await bootNode(state, i).catch(() => undefined);
        await ctlFor(state, i, ['start_app']).catch(() => undefined);
      }
    } else {
      state = await start(stateFile, owner);
    }
    const s = state;
    const nodes = s.nodes.map((n, index) => ({ index, name: n.name, port: n.port, url: `amqp://guest:guest@127.0.0.1:${n.port}` }));
    return {
      nodes,
      urlList: (first = 0) => [0, 1, 2].map((k) => nodes[(first + k) % 3]!.url).join(';'),
      ctl: (i, ...args) => ctlFor(s, i, args),
      kill: async (i) => {
        const pid = pidOf(s, i);
        if (!pid) throw new Error(`no pid for cluster node ${i + 1}`);
        process.kill(pid, 'SIGKILL');
        // Wait until the VM is really gone, so a restart does not race its ports.
        for (let k = 0; k < 100; k++) {
          try {
            process.kill(pid, 0);
          } catch {
            return;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      restart: (i) => bootNode(s, i),
      stopApp: async (i) => void (await ctlFor(s, i, ['stop_app'])),
      startApp: async (i) => {
        await ctlFor(s, i, ['start_app']);
        await awaitStartup(s, i, Date.now() + 60_000);
      },
      leaderOf: async (queue) => {
        for (let i = 0; i < 3; i++) {
          const out = await ctlFor(s, i, ['list_queues', 'name', 'leader'], 20_000).catch(() => undefined);
          const line = out?.split('\n').find((l) => l.split('\t')[0] === queue);
          if (!line) continue;
          const leader = line.split('\t')[1]?.trim();
          const index = s.nodes.findIndex((n) => n.name === leader);
          if (index >= 0) return index;
        }
        throw new Error(`no leader found for queue ${queue}`);
      },
    };
  })();
  return cached;
}
