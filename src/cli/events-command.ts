import { Command } from 'commander';
import { ClusterState, EventReceiver, type ReceivedEvent, type TaskInfo, type WorkerInfo } from '../client/event-receiver.js';
import { safeRepr } from '../core/wire/py-repr.js';
import { addCommonOptions, announce, appFromFlags, reportError, type CommonFlags } from './common.js';
import { seconds } from './parse-args.js';

interface EventsFlags extends CommonFlags {
  dump?: boolean;
  json?: boolean;
  frequency?: number;
}

/** Fields Celery sends as floats: JSON.parse turns 2.0 into 2, Python would print 2.0. */
const FLOAT_FIELDS = new Set(['freq', 'runtime', 'timestamp', 'local_received']);

/** Python's str() of an event field: strings bare, everything else as its repr. */
const pyStr = (v: unknown, key = ''): string =>
  typeof v === 'string' ? v : typeof v === 'number' && Number.isInteger(v) && FLOAT_FIELDS.has(key) ? `${v}.0` : safeRepr(v, Infinity);

/** `datetime.utcfromtimestamp(ts)` as Python prints it: 2026-11-24 09:24:40.869272. */
export function pyUtcTime(ts: number): string {
  const secs = Math.floor(ts);
  let micros = Math.round((ts - secs) * 1e6);
  const whole = micros >= 1e6 ? secs + 1 : secs;
  if (micros >= 1e6) micros = 0;
  const base = new Date(whole * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return micros ? `${base}.${String(micros).padStart(6, '0')}` : base;
}

const HUMAN_TYPES: Record<string, string> = { 'worker-offline': 'shutdown', 'worker-online': 'started', 'worker-heartbeat': 'heartbeat' };

/** Celery's event dumper (`celery events --dump`): one line per event, task names remembered by id. */
export class Dumper {
  readonly #names = new Map<string, string>();

  line(event: ReceivedEvent): string {
    const { timestamp, type: rawType, hostname, ...ev } = event;
    const type = rawType.toLowerCase();
    const when = typeof timestamp === 'number' ? pyUtcTime(timestamp) : '?';
    const human = HUMAN_TYPES[type] ?? type.replace(/-/g, ' ');
    let task: string | undefined;
    if (type.startsWith('task-')) {
      const { uuid, ...rest } = ev;
      const id = pyStr(uuid);
      if (type === 'task-received' || type === 'task-sent') {
        const { name, args, kwargs, ...others } = rest;
        task = `${pyStr(name)}(${id}) args=${pyStr(args)} kwargs=${pyStr(kwargs)}`;
        this.#names.set(id, task);
        if (this.#names.size > 0xfff) this.#names.delete(this.#names.keys().next().value as string);
        return this.#say(hostname, when, human, task, others);
      }
      return this.#say(hostname, when, human, this.#names.get(id) ?? '', rest);
    }
    return this.#say(hostname, when, human, undefined, ev);
  }

  #say(hostname: unknown, when: string, human: string, task: string | undefined, fields: Record<string, unknown>): string {
    const list = Object.keys(fields)
      .sort()
      .map((k) => `${k}=${pyStr(fields[k], k)}`)
      .join(', ');
    const sep = list ? ':' : '';
    return task === undefined ? `${pyStr(hostname)} [${when}] ${human}${sep} ${list}` : `${pyStr(hostname)} [${when}] ${human}${sep} ${task} ${list}`;
  }
}

const clock = (ts: number): string => new Date(ts * 1000).toTimeString().slice(0, 8);
const fit = (s: string, n: number): string => (s.length > n ? `${s.slice(0, Math.max(0, n - 1))}…` : s.padEnd(n));
const age = (ts: number | undefined, now: number): string => (ts === undefined ? '-' : `${Math.max(0, now - ts).toFixed(1)}s ago`);
const runtime = (t: TaskInfo): string => (t.runtime === undefined ? '' : `${t.runtime.toFixed(3)}s`);

function workerRow(state: ClusterState, w: WorkerInfo, now: number): string {
  return [
    fit(w.hostname, 32),
    fit(state.status(w, now), 8),
    fit(age(w.lastHeartbeat, now), 10),
    String(w.active).padStart(6),
    String(w.processed).padStart(10),
    ' ',
    fit(w.loadavg.map((l) => l.toFixed(2)).join(' '), 15),
    [w.swIdent, w.swVer].filter(Boolean).join(' '),
  ].join(' ');
}

function taskRow(t: TaskInfo): string {
  return [fit(t.uuid, 36), fit(t.name ?? '?', 28), fit(t.state, 9), fit(t.worker ?? '', 28), fit(runtime(t), 9), clock(t.timestamp)].join(' ');
}

/** One screen of the live view, cut to the terminal's size. */
export function renderScreen(state: ClusterState, header: string, columns: number, rows: number, now = Date.now() / 1000): string {
  const lines = [header, ''];
  lines.push(['WORKER'.padEnd(32), 'STATUS  ', 'HEARTBEAT ', 'ACTIVE', ' PROCESSED', ' ', 'LOAD'.padEnd(15), 'SOFTWARE'].join(' '));
  const workers = [...state.workers.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
  for (const w of workers) lines.push(workerRow(state, w, now));
  if (!workers.length) lines.push('(no workers seen yet: start one with -E, or wait for its next heartbeat)');
  lines.push('', ['TASK ID'.padEnd(36), 'NAME'.padEnd(28), 'STATE'.padEnd(9), 'WORKER'.padEnd(28), 'RUNTIME'.padEnd(9), 'UPDATED'].join(' '));
  for (const t of state.recentTasks(Math.max(0, rows - lines.length - 1))) lines.push(taskRow(t));
  return lines.map((l) => (l.length > columns ? l.slice(0, columns) : l)).join('\n');
}

/** A line for a change worth appending when stdout is not a terminal. */
function changeLine(state: ClusterState, e: ReceivedEvent, lastStatus: Map<string, string>): string | undefined {
  const kind = state.update(e);
  const now = Date.now() / 1000;
  if (kind === 'worker') {
    const w = state.workers.get(String(e['hostname']));
    if (!w) return undefined;
    const status = state.status(w, now);
    if (lastStatus.get(w.hostname) === status) return undefined;
    lastStatus.set(w.hostname, status);
    return `${clock(now)} worker ${w.hostname} ${status}${w.swIdent ? ` (${w.swIdent} ${w.swVer ?? ''})` : ''}`;
  }
  if (kind === 'task') {
    const t = state.tasks.get(String(e['uuid']))!;
    const detail = [
      t.worker ? `on ${t.worker}` : '',
      runtime(t) ? `in ${runtime(t)}` : '',
      t.state === 'FAILURE' || t.state === 'RETRY' ? (t.exception ?? '') : '',
    ];
    return `${clock(now)} task ${t.uuid} ${t.name ?? '?'} ${t.state} ${detail.filter(Boolean).join(' ')}`.trimEnd();
  }
  return undefined;
}

/** `celeryts events`: watch the cluster through Celery's event stream. */
export function eventsCommand(): Command {
  const cmd = new Command('events')
    .description('Watch workers and tasks through the celeryev event stream (workers started with -E, Python or celeryts)')
    .option('--dump', 'print each event as one line, like celery events --dump')
    .option('-j, --json', 'print each event as received, one JSON object per line')
    .option('-F, --frequency <seconds>', 'live view refresh interval (default 1)', seconds);
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ celeryts worker -E                    # in another terminal: a worker that sends events
  $ celeryts events                       # live view of workers and recent tasks (Ctrl-C quits)
  $ celeryts events --dump                # one line per event
  $ celeryts events --json | jq .type     # raw events`,
  );
  return cmd.action(async (flags: EventsFlags) => {
    let code = 0;
    try {
      await watch(flags);
    } catch (err) {
      code = reportError(err);
    }
    process.exit(code);
  });
}

async function watch(flags: EventsFlags): Promise<void> {
  const app = await appFromFlags(flags, {}, 'warn');
  announce(app, 'events');
  const out = process.stdout;
  const tty = Boolean(out.isTTY) && !flags.dump && !flags.json;
  const state = new ClusterState();
  const lastStatus = new Map<string, string>();
  const dumper = new Dumper();
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  out.on('error', () => stop()); // a closed pipe (| head) ends the watch
  const write = (s: string): void => void out.write(`${s}\n`);

  let dirty = true;
  const draw = (): void => {
    const header = `celeryts events  ${broker.displayUrl}  ${clock(Date.now() / 1000)}  events: ${state.eventCount}  (Ctrl-C to quit)`;
    out.write(`\x1b[H\x1b[2J${renderScreen(state, header, out.columns || 120, out.rows || 40)}`);
    dirty = false;
  };
  const onEvent = (event: ReceivedEvent, raw: ReceivedEvent): void => {
    if (flags.json) return write(JSON.stringify(raw));
    if (flags.dump) return write(dumper.line(event));
    if (tty) {
      state.update(event);
      dirty = true;
      return;
    }
    const line = changeLine(state, event, lastStatus);
    if (line) write(line);
  };

  const broker = await app.broker();
  const receiver = new EventReceiver(broker);
  await receiver.start(onEvent);
  if (flags.dump) write('-> evdump: starting capture...');
  // Ask workers for a heartbeat now instead of in up to 2 s, as Celery's receiver does.
  void app
    .control()
    .then((c) => c.broadcast('heartbeat', {}, { reply: false }))
    .catch(() => undefined);

  const onSignal = (): void => stop();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, onSignal);
  let timer: NodeJS.Timeout | undefined;
  if (tty) {
    out.write('\x1b[?1049h\x1b[?25l'); // alternate screen, hide the cursor
    const period = (flags.frequency ?? 1) * 1000;
    let last = 0;
    // Redraw at most every 100 ms on events, and every `period` for heartbeat ages.
    timer = setInterval(() => {
      const now = Date.now();
      if (dirty ? now - last >= 100 : now - last >= period) {
        last = now;
        draw();
      }
    }, 100);
    draw();
  } else if (!flags.dump && !flags.json) {
    // Report workers whose heartbeats stopped.
    timer = setInterval(
      () => {
        const now = Date.now() / 1000;
        for (const w of state.workers.values()) {
          const status = state.status(w, now);
          if (lastStatus.get(w.hostname) !== status) {
            lastStatus.set(w.hostname, status);
            write(`${clock(now)} worker ${w.hostname} ${status}`);
          }
        }
      },
      (flags.frequency ?? 1) * 1000,
    );
  }
  try {
    await stopped;
  } finally {
    clearInterval(timer);
    if (tty) out.write('\x1b[?25h\x1b[?1049l');
    process.once('SIGINT', () => process.exit(130)); // a second Ctrl-C while closing
    await receiver.stop();
    await app.close().catch(() => undefined);
  }
}
