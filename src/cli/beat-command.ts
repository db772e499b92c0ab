import { Command } from 'commander';
import type { App } from '../app.js';
import { beatBannerText } from '../beat/banner.js';
import { BeatService } from '../beat/beat-service.js';
import type { BeatEntry } from '../beat/entry.js';
import type { BeatListing } from '../beat/listing.js';
import type { ScheduleSpec } from '../beat/schedule/spec.js';
import { InvalidScheduleError } from '../core/errors.js';
import { VERSION } from '../version.js';
import { maskUrl } from '../util/mask-url.js';
import { addCommonOptions, announce, appFromFlags, moduleRefsFromCli, reportError, type CommonFlags } from './common.js';
import { connectWithRetry } from './connect-retry.js';
import { collect, jsonOption, parseTaskArg, seconds } from './parse-args.js';

interface RunFlags extends CommonFlags {
  app?: string[];
}

interface AddFlags extends CommonFlags {
  every?: string;
  crontab?: string;
  once?: string;
  tz?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string;
  priority?: number;
  expires?: number;
}

/** Run `fn` with an app from the flags, print errors as the other commands do, exit with its code. */
async function withApp(command: string, flags: CommonFlags, fn: (app: App) => Promise<number | undefined>): Promise<never> {
  let code = 0;
  const app = await appFromFlags(flags, {}, 'warn').catch((err: unknown) => process.exit(reportError(err)));
  announce(app, command);
  try {
    code = (await fn(app)) ?? 0;
  } catch (err) {
    code = reportError(err);
  } finally {
    await app.close().catch(() => undefined);
  }
  process.exit(code);
}

function formatList(rows: readonly BeatListing[]): string {
  if (rows.length === 0) return '(no entries)\n';
  const w = (f: (r: BeatListing) => string) => Math.max(...rows.map((r) => f(r).length));
  const [name, task, schedule] = [w((r) => r.name), w((r) => r.task), w((r) => r.schedule)];
  return rows
    .map((r) =>
      [
        r.name.padEnd(name),
        r.task.padEnd(task),
        r.schedule.padEnd(schedule),
        r.source.padEnd(7),
        r.error ? `INVALID: ${r.error}` : `last ${r.lastRun ?? 'never'}  next ${r.nextRun ?? 'none (done)'}  runs ${r.totalRuns}`,
      ].join('  '),
    )
    .join('\n')
    .concat('\n');
}

function listCommand(): Command {
  const cmd = new Command('list')
    .description('Print the schedule: every entry with its last and next run')
    .option('--json', 'print the entries as a JSON array');
  return addCommonOptions(cmd).action((_flags: unknown, self: Command) =>
    withApp('beat list', self.optsWithGlobals<CommonFlags & { json?: boolean }>(), async (app) => {
      const rows = await app.beat.list();
      process.stdout.write(self.optsWithGlobals<{ json?: boolean }>().json ? `${JSON.stringify(rows, null, 2)}\n` : formatList(rows));
      return 0;
    }),
  );
}

function addCommand(): Command {
  const cmd = new Command('add')
    .description('Add or replace a runtime entry (kept in the store next to the broker; the leading beat picks it up)')
    .argument('<name>', 'entry name')
    .argument('<task>', 'task name, e.g. proj.tasks.report')
    .argument('[args...]', 'positional arguments: JSON where valid JSON, else strings')
    .option('--every <duration>', "interval: '30s', '5m', '1h30m' or seconds")
    .option('--crontab <expression>', "5-field crontab: 'minute hour day-of-month month day-of-week', e.g. '0 4 * * mon-fri'")
    .option('--once <time>', 'a single run at an ISO 8601 time')
    .option('--tz <zone>', "time zone of --crontab or an offset-less --once (default: the config's timezone)")
    .option('--args <json>', 'positional arguments as a JSON array (before the ones given bare)', jsonOption('array'))
    .option('--kwargs <json>', 'keyword arguments as a JSON object', jsonOption('object'))
    .option('-Q, --queue <name>', 'queue to send to')
    .option('--priority <n>', 'message priority', (raw) => Number(raw))
    .option('--expires <seconds>', 'discard a run not started within this many seconds', seconds);
  return addCommonOptions(cmd).action((name: string, task: string, rawArgs: string[], _flags: unknown, self: Command) => {
    const flags = self.optsWithGlobals<AddFlags>();
    return withApp('beat add', flags, async (app) => {
      const kinds = [flags.every, flags.crontab, flags.once].filter((v) => v !== undefined);
      if (kinds.length !== 1) throw new InvalidScheduleError(name, 'schedule', 'needs exactly one of --every, --crontab, --once');
      const tz = flags.tz !== undefined ? { tz: flags.tz } : {};
      let schedule: ScheduleSpec;
      if (flags.every !== undefined) schedule = { every: flags.every };
      else if (flags.crontab !== undefined) schedule = { crontab: flags.crontab, ...tz };
      else schedule = { once: flags.once!, ...tz };
      const options: NonNullable<BeatEntry['options']> = {};
      if (flags.queue !== undefined) options.queue = flags.queue;
      if (flags.priority !== undefined) options.priority = flags.priority;
      if (flags.expires !== undefined) options.expires = flags.expires;
      const args = [...(flags.args ?? []), ...rawArgs.map(parseTaskArg)];
      await app.beat.set(name, { task, schedule, args, kwargs: flags.kwargs ?? {}, options });
      const row = (await app.beat.list()).find((r) => r.name === name);
      process.stdout.write(row ? formatList([row]) : `${name}\n`);
      return 0;
    });
  });
}

function removeCommand(): Command {
  const cmd = new Command('remove').description('Remove an entry (a config entry comes back when the next leader starts)').argument('<name>', 'entry name');
  return addCommonOptions(cmd).action((name: string, _flags: unknown, self: Command) =>
    withApp('beat remove', self.optsWithGlobals<CommonFlags>(), async (app) => {
      if (await app.beat.remove(name)) {
        process.stdout.write(`removed ${name}\n`);
        return 0;
      }
      process.stderr.write(`celeryts: no beat entry named '${name}'\n`);
      return 1;
    }),
  );
}

/** Print the banner on a terminal (stderr, like every log), else log it as one line. */
async function banner(app: App, beat: BeatService): Promise<void> {
  const broker = maskUrl(app.config.brokerUrl);
  const entries = await app.beat.list();
  if (process.stderr.isTTY && !app.config.logFile) {
    process.stderr.write(
      `${beatBannerText({
        version: VERSION,
        broker,
        configFile: app.config.configFile,
        store: beat.store.description,
        election: beat.store.election,
        timezone: app.config.timezone,
        deadline: app.config.beatStartingDeadline,
        entries,
      })}\n`,
    );
  } else {
    app.log.info(
      {
        version: VERSION,
        config: app.config.configFile ?? null,
        broker,
        store: beat.store.description,
        election: beat.store.election,
        entries: entries.map((e) => ({ name: e.name, task: e.task, schedule: e.schedule, source: e.source, next: e.nextRun })),
      },
      'celeryts beat starting',
    );
  }
}

/** `celeryts beat`: run the scheduler (one leader among any number of instances); list/add/remove entries. */
export function beatCommand(): Command {
  const cmd = new Command('beat')
    .description('Run beat: send periodic tasks on schedule (one leader among any number of instances)')
    .option('-A, --app <module>', 'task module to load, to warn about entries naming unknown tasks (repeatable)', collect);
  // Options after `list`/`add`/`remove` are theirs; options before it (or before `beat`) apply to them too.
  addCommonOptions(cmd)
    .enablePositionalOptions()
    .addCommand(listCommand())
    .addCommand(addCommand())
    .addCommand(removeCommand())
    .addHelpText(
      'after',
      `
Examples:
  $ celeryts beat                                  # run the config's beatSchedule
  $ celeryts worker -B                             # a worker with beat embedded
  $ celeryts beat add cleanup proj.tasks.cleanup --every 10m
  $ celeryts beat add report proj.tasks.report --crontab '0 4 * * mon-fri' --tz Europe/Berlin --kwargs '{"full": true}'
  $ celeryts beat list
  $ celeryts beat remove cleanup

Run as many instances as you like against one broker: one leads and sends, the others stand by
and take over within a few seconds if it dies. SIGTERM or SIGINT: release the lead and exit 0.`,
    );
  return cmd.action(async (flags: RunFlags) => {
    let app: App | undefined;
    let beat: BeatService;
    try {
      app = await appFromFlags(flags);
      await app.loadTasks(moduleRefsFromCli(flags.app));
      beat = await BeatService.create(app);
      await connectWithRetry(app); // like the worker: wait for a broker that is not up yet
      await banner(app, beat);
      beat.start();
    } catch (err) {
      process.exitCode = reportError(err);
      await app?.close().catch(() => undefined);
      process.exit();
    }
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (++signals > 1) process.exit(1);
      beat.app.log.info({ signal: sig }, 'beat: shutting down');
      void beat
        .stop()
        .then(() => beat.app.close())
        .then(
          () => process.exit(0),
          (err: unknown) => process.exit(reportError(err)),
        );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
