import { Command } from 'commander';
import type { App } from '../app.js';
import { ResultTimeoutError, TaskFailedError } from '../core/errors.js';
import type { SendOptions } from '../core/send-options.js';
import { prepareTaskSent, publishTaskSent } from '../client/task-sent.js';
import { addCommonOptions, announce, appFromFlags, moduleRefsFromCli, reportError, type CommonFlags } from './common.js';
import { collect, jsonOption, parseTaskArg, seconds } from './parse-args.js';

interface CallFlags extends CommonFlags {
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  countdown?: number;
  eta?: string;
  expires?: number;
  wait?: boolean;
  timeout?: number;
  app?: string[];
  sendEvent?: boolean;
}

/** `celeryts call`: send a task by name (like send_task), optionally wait for its result. */
export function callCommand(): Command {
  const cmd = new Command('call')
    .description('Send a task by name and print its id (with --wait, its result as JSON)')
    .argument('<task>', 'task name, e.g. proj.tasks.add')
    .argument('[args...]', 'positional arguments: JSON where valid JSON, else strings')
    .option('--args <json>', 'positional arguments as a JSON array (before the ones given bare)', jsonOption('array'))
    .option('--kwargs <json>', 'keyword arguments as a JSON object', jsonOption('object'))
    .option('-Q, --queue <name>', 'queue to send to (default: the config default queue)')
    .option('--exchange <name>', 'publish to this exchange instead (its bindings route the task)')
    .option('--routing-key <key>', 'routing key (default: the queue name)')
    .option('--countdown <seconds>', 'run no earlier than this many seconds from now', seconds)
    .option('--eta <iso>', 'run no earlier than this ISO 8601 time')
    .option('--expires <seconds>', 'discard if not started within this many seconds', seconds)
    .option('--send-event', "also publish Celery's task-sent event (for celeryts events, celery events, Flower)")
    .option('-w, --wait', 'wait for the result and print it as JSON (exit 1 on failure)')
    .option('-t, --timeout <seconds>', 'with --wait: give up after this long (default: wait forever)', seconds)
    .option('-A, --app <module>', 'load task modules (proj.tasks or ./tasks.ts) to check the name is registered (repeatable)', collect);
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ celeryts call proj.tasks.add 2 3 --wait            # prints 5
  $ celeryts call proj.tasks.add --args '[2]' --kwargs '{"y": 3}' --wait --timeout 10
  $ celeryts call proj.tasks.hello world --countdown 5 -Q greetings
  $ ID=$(celeryts call proj.tasks.add 2 3)                 # stdout is the id alone; logs go to stderr

Exit codes: 0 sent (with --wait: succeeded), 1 the task failed or --timeout ran out, 2 usage or config error.`,
  );
  return cmd.action(async (name: string, rawArgs: string[], flags: CallFlags) => {
    let code = 0;
    const app = await appFromFlags(flags, {}, 'warn').catch((err) => {
      process.exit(reportError(err));
    });
    announce(app, 'call');
    try {
      if (flags.app?.length) {
        await app.loadTasks(moduleRefsFromCli(flags.app));
        if (!app.registry.has(name)) {
          app.log.warn({ task: name, registered: app.registry.names() }, `task '${name}' is not registered in the loaded modules; sending anyway`);
        }
      }
      const args = [...(flags.args ?? []), ...rawArgs.map(parseTaskArg)];
      const options: SendOptions = {};
      if (flags.queue) options.queue = flags.queue;
      if (flags.exchange) options.exchange = flags.exchange;
      if (flags.routingKey) options.routingKey = flags.routingKey;
      if (flags.countdown !== undefined) options.countdown = flags.countdown;
      if (flags.eta) options.eta = flags.eta;
      if (flags.expires !== undefined) options.expires = flags.expires;
      const sent = flags.sendEvent ? prepareTaskSent(name, args, flags.kwargs ?? {}, options, app.config.defaultQueue) : undefined;
      const result = await app.sendTask(name, args, flags.kwargs ?? {}, sent?.options ?? options);
      if (sent) await publishTaskSent(await app.broker(), sent, app.log);
      process.stdout.write(`${result.id}\n`);
      if (flags.wait) {
        try {
          const value = await result.get(flags.timeout !== undefined ? { timeout: flags.timeout } : {});
          process.stdout.write(`${JSON.stringify(value)}\n`);
        } catch (err) {
          if (err instanceof TaskFailedError) {
            process.stderr.write(failureText(err));
            code = 1;
          } else if (err instanceof ResultTimeoutError) {
            code = reportError(err);
            process.stderr.write(await timeoutHint(app, flags));
          } else code = reportError(err);
        }
      }
    } catch (err) {
      code = reportError(err);
    } finally {
      await app.close().catch(() => undefined);
    }
    process.exit(code);
  });
}

/**
 * A failure as the user reads it: the remote traceback when there is one (it names the error
 * already: first line in JavaScript, last in Python), else `Type: message`.
 */
export function failureText(err: TaskFailedError): string {
  const headline = `${err.excType}: ${err.excMessage}`;
  const tb = err.remoteTraceback?.trimEnd();
  if (!tb) return `${headline}\n`;
  const lines = tb.split('\n');
  return lines.some((l) => l.trim() === headline) ? `${tb}\n` : `${headline}\n${tb}\n`;
}

/** Why a --wait may have timed out: where the task went, and whether a worker took it. */
async function timeoutHint(app: App, flags: CallFlags): Promise<string> {
  if (flags.exchange) {
    return `celeryts: the task went to exchange '${flags.exchange}' (routing key '${flags.routingKey ?? flags.queue ?? app.config.defaultQueue}'): is a worker consuming a queue bound to it?\n`;
  }
  const queue = flags.queue ?? app.config.defaultQueue;
  const waiting = await (await app.broker()).queueSize(queue).catch(() => undefined);
  if (waiting) {
    return `celeryts: the task is still waiting in queue '${queue}' (${waiting} message${waiting === 1 ? '' : 's'} there): no worker may be consuming it; start one with 'celeryts worker -Q ${queue}' on this broker\n`;
  }
  return `celeryts: the task was sent to queue '${queue}' and is no longer there: a worker took it and may still be running it (raise --timeout), or no worker may consume '${queue}' on this broker\n`;
}
