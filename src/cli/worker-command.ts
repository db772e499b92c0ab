import path from 'node:path';
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { bannerText } from '../worker/banner.js';
import { expandNodeName } from '../worker/node-name.js';
import { Worker } from '../worker/worker.js';
import { BrokerGaveUpError } from '../core/errors.js';
import { BeatService } from '../beat/beat-service.js';
import { capOldSpaceGrowth } from '../util/old-space-growth.js';
import { capSemiSpace } from '../util/semi-space-cap.js';
import { maskUrl } from '../util/mask-url.js';
import { addCommonOptions, appFromFlags, moduleRefsFromCli, reportError, type CommonFlags } from './common.js';
import { connectWithRetry } from './connect-retry.js';
import { autoscaleRange, collect, positiveInt, seconds } from './parse-args.js';
import { holdPidfile } from './pidfile.js';

interface WorkerFlags extends CommonFlags {
  app?: string[];
  concurrency?: number;
  prefetchMultiplier?: number;
  autoscale?: [number, number];
  acksLate?: boolean;
  queues?: string[];
  hostname?: string;
  withoutRateLimits?: boolean;
  pool?: string;
  timeLimit?: number;
  softTimeLimit?: number;
  taskEvents?: boolean;
  retryOnStartup?: boolean;
  pidfile?: string;
  logfile?: string;
  beat?: boolean;
  withoutRemoteControl?: boolean;
  controlCommands?: string[];
}

/** `celeryts worker`: thin: flags -> app options -> Worker; signals -> warm/cold shutdown. */
export function workerCommand(): Command {
  const cmd = new Command('worker')
    .description('Start a worker: load task modules and consume task queues')
    .option('-A, --app <module>', 'task module to load: proj.tasks, or a path such as ./tasks.ts (repeatable; added to the config imports)', collect)
    .option('-c, --concurrency <n>', 'tasks run at once (default: number of CPUs)', positiveInt)
    .option('--prefetch-multiplier <n>', 'prefetch = concurrency x this (default 4; prefetch at most 65535)', positiveInt)
    .option('--autoscale <max,min>', 'grow the async pool with load up to MAX tasks at once, shrink it down to MIN when idle', autoscaleRange)
    .option('--acks-late', 'ack after the task returns instead of before it starts')
    .option('-Q, --queues <names>', 'queues to consume, comma separated (default: celery)', collect)
    .option('-n, --hostname <name>', "node name, %h = host name (default 'celery@%h')")
    .option('--without-rate-limits', 'turn rate limits off for every task')
    .option('-P, --pool <kind>', "where tasks run: 'async' (default) or 'threads' (worker_threads, for CPU-bound work)")
    .option('--time-limit <seconds>', 'hard time limit for every task: stopped and failed with TimeLimitExceeded', seconds)
    .option('--soft-time-limit <seconds>', "soft time limit: the task's AbortSignal fires with SoftTimeLimitExceeded", seconds)
    .option('-E, --task-events', "publish Celery's monitoring events (celeryts events, celery events, Flower)")
    .option('--retry-on-startup', 'wait for a broker that is down at start, retrying with backoff (default; config brokerConnectionRetryOnStartup)')
    .option('--no-retry-on-startup', 'exit at once when the broker is down at start')
    .option('--pidfile <file>', "write the worker's pid here (refused if a running process holds it; removed at exit)")
    .option('-f, --logfile <file>', 'append logs to this file instead of stderr')
    .option('--without-remote-control', 'answer no inspect/control requests (config workerEnableRemoteControl: false)')
    .option('--control-commands <names>', 'answer only these control commands, comma separated (config controlCommands)', collect)
    .option('-B, --beat', "also run beat (the config's periodic tasks) in this process; any number of workers may: one leads");
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ celeryts worker                          # tasks from celeryts.config.ts, embedded broker
  $ celeryts worker -A proj.tasks -c 8 -Q celery,reports
  $ celeryts -A ./tasks.ts worker -l WARNING # Celery's order; a path is relative to this folder
  $ CELERYTS_BROKER_URL=amqp://guest:guest@localhost:5672// celeryts worker -n w1@%h --acks-late
  $ celeryts worker -E                       # with events: watch it with 'celeryts events'

SIGTERM or SIGINT: warm shutdown (finish running tasks, then exit 0). A second signal exits at once.
Under a supervisor, run the bin itself (node_modules/.bin/celeryts, or exec it from a shell
script): npx does not pass SIGTERM on.`,
  );
  return cmd.action(async (flags: WorkerFlags) => {
    let worker: Worker | undefined;
    let beat: BeatService | undefined;
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      // Not consuming yet (loading, or waiting for the broker): nothing to finish.
      if (!worker || worker.state === 'new') process.exit(0);
      if (signals > 1) {
        // Cold shutdown: exit now; unacked (acks-late) tasks go back to the queue through the broker.
        worker.app.log.warn({ signal: sig }, 'worker: Cold shutdown (second signal)');
        worker.app.log.flush?.();
        process.exit(1);
      }
      const w = worker;
      // Exits from the 'stopped' listener below, once the app is closed too.
      void Promise.resolve(beat?.stop())
        .then(() => w.stop())
        .catch((err: unknown) => {
          process.exitCode = reportError(err);
          process.exit();
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      const app = await appFromFlags(flags, {
        ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
        ...(flags.prefetchMultiplier !== undefined ? { prefetchMultiplier: flags.prefetchMultiplier } : {}),
        ...(flags.autoscale ? { autoscale: flags.autoscale } : {}),
        ...(flags.acksLate ? { acksLate: true } : {}),
        ...(flags.withoutRateLimits ? { disableRateLimits: true } : {}),
        ...(flags.hostname ? { workerName: flags.hostname } : {}),
        ...(flags.pool ? { pool: flags.pool as 'async' | 'threads' } : {}),
        ...(flags.timeLimit !== undefined ? { taskTimeLimit: flags.timeLimit } : {}),
        ...(flags.softTimeLimit !== undefined ? { taskSoftTimeLimit: flags.softTimeLimit } : {}),
        ...(flags.taskEvents ? { sendEvents: true } : {}),
        ...(flags.withoutRemoteControl ? { workerEnableRemoteControl: false } : {}),
        ...(flags.controlCommands ? { controlCommands: flags.controlCommands } : {}),
        ...(flags.retryOnStartup !== undefined ? { brokerConnectionRetryOnStartup: flags.retryOnStartup } : {}),
        ...(flags.logfile ? { logFile: path.resolve(flags.logfile) } : {}),
      });
      if (flags.pidfile) holdPidfile(flags.pidfile);
      const modules = moduleRefsFromCli(flags.app);
      await app.loadTasks(modules);
      // The process is the worker's: size its heap for draining, as configured (bin/celeryts.js set
      // the defaults before the CLI loaded, see worker-heap.ts).
      const cap = capSemiSpace(app.config.workerMaxSemiSpaceMb);
      const growth = capOldSpaceGrowth(app.config.workerHeapGrowingPercent);
      app.log.debug(
        {
          semiSpaceCap: cap.state === 'capped' ? `${cap.mib} MiB` : cap.state,
          oldSpaceGrowth: growth.state === 'capped' ? `${growth.percent} %` : growth.state,
        },
        'V8 heap sizing',
      );
      worker = new Worker(app, {
        nodeName: expandNodeName(app.config.workerName),
        modules,
        ...(flags.queues ? { queues: flags.queues } : {}),
      });
      const broker = maskUrl(app.config.brokerUrl);
      // The banner is for people: on a terminal it is printed (on stderr, like every log), else one log line says the same.
      if (process.stderr.isTTY && !app.config.logFile) process.stderr.write(`${bannerText(worker, VERSION, broker)}\n`);
      else {
        app.log.info(
          {
            node: worker.nodeName,
            version: VERSION,
            config: app.config.configFile ?? null,
            broker,
            concurrency: app.config.concurrency,
            prefetch: worker.prefetchCount,
            queues: worker.queues,
            tasks: app.registry.names(),
          },
          `celeryts worker ${worker.nodeName} starting (config ${app.config.configFile ?? '(none: defaults)'}, broker ${broker})`,
        );
      }
      // Checked before connecting, so a bad schedule exits 2 at once with nothing consumed.
      if (flags.beat) {
        beat = await BeatService.create(app);
        app.log.info({ store: beat.store.description, election: beat.store.election, entries: beat.configEntries.length }, 'beat: embedded in this worker');
      }
      const connected = await connectWithRetry(app);
      // The broker retries a lost connection per brokerReconnectMaxRetries (default forever);
      // once it gives up, nothing is consumed any more: exit non-zero so a supervisor restarts us.
      connected.on('error', (err) => {
        if (!(err instanceof BrokerGaveUpError)) return;
        app.log.error({ code: err.code, err: err.message }, 'worker: the broker connection gave up; exiting 1');
        app.log.flush?.();
        process.exit(1);
      });
      await worker.start();
      beat?.start();
    } catch (err) {
      worker?.app.log.flush?.();
      process.exitCode = reportError(err);
      process.exit();
    }
    // However the worker stopped (a signal, remote shutdown), the app is this command's to close.
    const app = worker.app;
    worker.once(
      'stopped',
      () =>
        void Promise.resolve(beat?.stop())
          .then(() => app.close())
          .finally(() => process.exit(0)),
    );
  });
}
