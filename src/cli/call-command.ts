import { Command } from 'commander';
import { TaskFailedError } from '../core/errors.js';
import type { SendOptions } from '../core/send-options.js';
import { prepareTaskSent, publishTaskSent } from '../worker/events/task-sent.js';
import { addCommonOptions, appFromFlags, reportError, type CommonFlags } from './common.js';
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
    .option('-A, --app <module>', 'load task modules to check the name is registered (repeatable)', collect);
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ celeryts call proj.tasks.add 2 3 --wait            # prints 5
  $ celeryts call proj.tasks.add --args '[2]' --kwargs '{"y": 3}' --wait --timeout 10
  $ celeryts call proj.tasks.hello world --countdown 5 -Q greetings`,
  );
  return cmd.action(async (name: string, rawArgs: string[], flags: CallFlags) => {
    let code = 0;
    const app = await appFromFlags(flags, {}, 'warn').catch((err) => {
      process.exit(reportError(err));
    });
    try {
      if (flags.app?.length) {
        await app.loadTasks(flags.app);
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
            process.stderr.write(`${err.excType}: ${err.message.slice(err.excType.length + 2)}\n`);
            if (err.remoteTraceback) process.stderr.write(`${err.remoteTraceback.trimEnd()}\n`);
            code = 1;
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
