import { Command, InvalidArgumentError } from 'commander';
import { Dashboard, type DashboardOptions } from '../dashboard/dashboard.js';
import { addCommonOptions, appFromFlags, reportError, type CommonFlags } from './common.js';
import { positiveInt } from './parse-args.js';

interface DashboardFlags extends CommonFlags {
  port?: number;
  address?: string;
  basicAuth?: string[];
  token?: string;
  readOnly?: boolean;
  maxTasks?: number;
  events?: boolean;
}

const port = (raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0 picks a free one)');
  return n;
};

const userPassword = (raw: string, previous: string[] = []): string[] => {
  if (!/^[^:]+:.+$/.test(raw)) throw new InvalidArgumentError('must be user:password');
  return [...previous, raw];
};

/** Flags > environment > config file (`dashboard` key). Secrets are best given by environment: argv is visible to `ps`. */
function dashboardOptions(flags: DashboardFlags, fromConfig: DashboardOptions): DashboardOptions {
  const env = process.env;
  const envBasic = env['CELERYTS_DASHBOARD_BASIC_AUTH']?.split(',').filter(Boolean);
  const options: DashboardOptions = { ...fromConfig };
  const set = <K extends keyof DashboardOptions>(key: K, value: DashboardOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set('token', env['CELERYTS_DASHBOARD_TOKEN'] || undefined);
  set('basicAuth', envBasic?.length ? envBasic : undefined);
  set('port', flags.port);
  set('address', flags.address);
  set('token', flags.token);
  set('basicAuth', flags.basicAuth);
  if (flags.readOnly) options.readOnly = true;
  set('maxTasks', flags.maxTasks);
  if (flags.events === false) options.enableEvents = false;
  return options;
}

/** `celeryts dashboard`: the live web dashboard. */
export function dashboardCommand(): Command {
  const cmd = new Command('dashboard')
    .description('Serve a live web dashboard of workers, tasks and queues (like Flower), with a Flower-compatible API and /metrics')
    .option('-p, --port <port>', 'port to listen on (default 5555; 0 picks a free one)', port)
    .option('--address <address>', 'address to bind (default 127.0.0.1; others require --token or --basic-auth)')
    .option('--token <token>', 'require this bearer token (or set CELERYTS_DASHBOARD_TOKEN)')
    .option('--basic-auth <user:password>', 'require basic auth; repeat for more users (or CELERYTS_DASHBOARD_BASIC_AUTH=u:p,u2:p2)', userPassword)
    .option('--read-only', 'hide and refuse every action (revoke, shutdown, pool, consumers, rate limits, send-task)')
    .option('--max-tasks <n>', 'tasks kept in memory, oldest forgotten first (default 10000)', positiveInt)
    .option('--no-events', 'do not ask workers to send task events (enable_events)');
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ celeryts dashboard                              # http://127.0.0.1:5555/
  $ CELERYTS_DASHBOARD_TOKEN=s3cret celeryts dashboard --address 0.0.0.0
  $ celeryts dashboard --read-only --max-tasks 50000
  $ curl -H 'Authorization: Bearer s3cret' http://host:5555/api/workers`,
  );
  return cmd.action(async (flags: DashboardFlags) => {
    let code = 0;
    try {
      await serve(flags);
    } catch (err) {
      code = reportError(err);
    }
    process.exit(code);
  });
}

async function serve(flags: DashboardFlags): Promise<void> {
  const app = await appFromFlags(flags, {}, 'info');
  const dashboard = new Dashboard(app, dashboardOptions(flags, app.config.dashboard));
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop());
  try {
    const url = await dashboard.start();
    const readOnly = dashboard.options.readOnly ?? false;
    app.log.info({ url, readOnly, maxTasks: dashboard.state.tasks.maxTasks }, `dashboard listening on ${url}${readOnly ? ' (read-only)' : ''}`);
    await stopped;
  } finally {
    process.once('SIGINT', () => process.exit(130));
    await dashboard.close();
    await app.close().catch(() => undefined);
  }
}
