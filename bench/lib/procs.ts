/**
 * Child processes for the bench (each consumer runs in a process of its own, its output in a
 * log file) and what Linux says about them: resident memory and CPU time.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** How to start a consumer. */
export interface Launch {
  cmd: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Start `launch` with stdout and stderr appended to `logFile`. */
export function startLogged(launch: Launch, logFile: string, defaultCwd: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(launch.cmd, launch.args, { cwd: launch.cwd ?? defaultCwd, env: { ...process.env, ...launch.env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 15): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '';
}

/** A check for waitMark: says why once the child has exited. */
export function exitedReason(child: ChildProcess, logFile: string): () => string | undefined {
  return () =>
    child.exitCode !== null || child.signalCode !== null
      ? `${child.spawnargs.slice(0, 4).join(' ')} exited (${child.exitCode ?? child.signalCode}); see ${logFile}:\n${tail(logFile)}`
      : undefined;
}

/** SIGTERM, then SIGKILL after 20 s; resolves with the exit code or signal. */
export async function stopChild(child: ChildProcess): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
  const done = new Promise<number | string | null>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await done;
  clearTimeout(timer);
  return code;
}

/** Resident set size of a process, in MB. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** CPU time (user + system, all threads) a process has used, in ms. */
export function cpuMs(pid: number): number {
  try {
    // utime and stime are fields 14 and 15 of /proc/PID/stat, counted after the "(comm) ".
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/**
 * The process listening on the broker's port on this machine (RabbitMQ's Erlang VM), to charge
 * the broker's CPU per task too; undefined when the broker is elsewhere or not visible.
 */
export function listenerPid(url: string): number | undefined {
  const hexPort = Number(new URL(url).port || 5672)
    .toString(16)
    .toUpperCase()
    .padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT, state 0A is LISTEN, the 10th field is the socket inode.
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && f[9]) inodes.add(f[9]);
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return Number(entry);
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}
