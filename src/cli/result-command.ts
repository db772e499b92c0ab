import { Command } from 'commander';
import { TaskFailedError, type TaskRevokedError } from '../core/errors.js';
import type { AsyncResult } from '../core/result.js';
import { failureText } from './call-command.js';
import { addCommonOptions, appFromFlags, reportError, type CommonFlags } from './common.js';
import { seconds } from './parse-args.js';

interface ResultFlags extends CommonFlags {
  traceback?: boolean;
  json?: boolean;
  wait?: boolean;
  timeout?: number;
}

/** Everything stored about a task, as `--json` prints it (Celery's meta field names). */
function asJson(r: AsyncResult): Record<string, unknown> {
  return {
    task_id: r.id,
    status: r.state,
    result: r.result,
    traceback: r.traceback,
    date_done: r.dateDone?.toISOString() ?? null,
    parent_id: r.parent?.id ?? null,
    children: r.children.map((c) => c.id),
  };
}

/** `celeryts result <id>`: a task's result by id (Celery's `celery result`), from a backend that stores results. */
export function resultCommand(): Command {
  const cmd = new Command('result')
    .description("Show a task's result by id (needs a result backend that stores results, e.g. redis://)")
    .argument('<task_id>', 'the task id')
    .option('--traceback', "print the failed task's traceback instead of its result")
    .option('--json', 'print everything stored (status, result, traceback, date_done, parent_id, children) as one JSON object')
    .option('--no-wait', 'do not wait for a task that is not ready yet: show its state now')
    .option('-t, --timeout <seconds>', 'give up waiting after this long (default: wait until ready, as Celery)', seconds);
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ celeryts result 6ac5d522-39b7-4d30-8121-19582643f5e7            # prints 5
  $ celeryts result 6ac5d522-... --traceback                         # the remote traceback of a failure
  $ celeryts result 6ac5d522-... --json --no-wait                    # {"task_id":...,"status":"PENDING",...}
  $ celeryts --result-backend redis://127.0.0.1:6379/0 result 6ac5d522-...

An unknown, expired or forgotten id is PENDING, as in Celery.
Exit codes: 0 succeeded (or shown with --json / --no-wait), 1 the task failed or was revoked,
or --timeout ran out, 2 usage or config error.`,
  );
  return cmd.action(async (taskId: string, flags: ResultFlags) => {
    let code = 0;
    try {
      const app = await appFromFlags(flags, {}, 'warn');
      try {
        const r = await app.asyncResult(taskId);
        if (flags.wait !== false) await r.get({ ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}), propagate: false });
        if (flags.json) process.stdout.write(`${JSON.stringify(asJson(r))}\n`);
        else if (flags.traceback) {
          if (r.traceback) process.stdout.write(`${r.traceback.trimEnd()}\n`);
        } else if (r.successful()) process.stdout.write(`${JSON.stringify(r.result)}\n`);
        else if (r.ready()) {
          const err = await r.get({ propagate: false });
          process.stderr.write(err instanceof TaskFailedError ? failureText(err) : `${(err as TaskRevokedError).message}\n`);
        } else process.stdout.write(`${r.state}\n`);
        if (r.ready() && !r.successful()) code = 1;
      } finally {
        await app.close().catch(() => undefined);
      }
    } catch (err) {
      code = reportError(err);
    }
    process.exit(code);
  });
}
