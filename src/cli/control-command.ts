import { Command } from 'commander';
import { reportError } from './common.js';
import { addBroadcastOptions, runBroadcast } from './inspect-command.js';
import { nonNegativeInt, positiveInt, seconds } from './parse-args.js';

type Flags = Parameters<typeof runBroadcast>[2] & { terminate?: boolean; signal?: string };

/** `celeryts control <command>`: act on running workers. */
export function controlCommand(): Command {
  const control = new Command('control').description(
    'Tell running workers to do something: rate_limit, time_limit, revoke, terminate, add_consumer, cancel_consumer, enable_events, disable_events, heartbeat, pool_grow, pool_shrink, autoscale, pool_restart, shutdown, ping',
  );
  const sub = (name: string, description: string) => addBroadcastOptions(new Command(name).description(description));
  const run = (method: string, args: Record<string, unknown>, flags: Flags, reply = true) =>
    runBroadcast(method, args, flags, reply).then(
      (code) => process.exit(code),
      (err) => process.exit(reportError(err)),
    );
  control.addCommand(
    sub('rate_limit', 'Set a task rate limit on workers')
      .argument('<task>', 'task name')
      .argument('<rate>', "'10/s', '100/m', '1000/h', or 0 to remove the limit")
      .action((task: string, rate: string, flags: Flags) => run('rate_limit', { task_name: task, rate_limit: rate === '0' ? null : rate }, flags)),
  );
  control.addCommand(
    sub('revoke', 'Revoke tasks by id: they are skipped when they arrive')
      .argument('<ids...>', 'task ids')
      .option('--terminate', 'also stop the task if it is running')
      .action((ids: string[], flags: Flags) => run('revoke', { task_id: ids, terminate: flags.terminate === true, signal: 'SIGTERM' }, flags)),
  );
  control.addCommand(sub('shutdown', 'Warm-shut down workers').action((flags: Flags) => run('shutdown', {}, flags, false)));
  control.addCommand(
    sub('terminate', 'Stop running tasks by id (revoke with terminate)')
      .argument('<ids...>', 'task ids')
      .action((ids: string[], flags: Flags) => run('terminate', { task_id: ids, signal: 'SIGTERM' }, flags)),
  );
  control.addCommand(
    sub('add_consumer', 'Make workers consume another queue (declared if missing)')
      .argument('<queue>', 'queue name')
      .argument('[exchange]', 'exchange to bind it to (default: a direct exchange named as the queue)')
      .argument('[exchange_type]', 'direct, topic or fanout (default direct)')
      .argument('[routing_key]', 'binding key (default: the queue name)')
      .action((queue: string, exchange: string | undefined, type: string | undefined, key: string | undefined, flags: Flags) =>
        run('add_consumer', { queue, exchange: exchange ?? null, exchange_type: type ?? 'direct', routing_key: key ?? null }, flags),
      ),
  );
  control.addCommand(
    sub('cancel_consumer', 'Make workers stop consuming a queue (tasks already received still run)')
      .argument('<queue>', 'queue name')
      .action((queue: string, flags: Flags) => run('cancel_consumer', { queue }, flags)),
  );
  control.addCommand(sub('enable_events', 'Make workers send task events (as -E)').action((flags: Flags) => run('enable_events', {}, flags)));
  control.addCommand(sub('disable_events', 'Make workers stop sending task events').action((flags: Flags) => run('disable_events', {}, flags)));
  control.addCommand(sub('ping', 'Ping workers').action((flags: Flags) => run('ping', {}, flags)));
  control.addCommand(
    sub('time_limit', "Set a task's time limits on workers (seconds; 0 removes one)")
      .argument('<task>', 'task name')
      .argument('<soft>', 'soft time limit, seconds', seconds)
      .argument('[hard]', 'hard time limit, seconds', seconds)
      .action((task: string, soft: number, hard: number | undefined, flags: Flags) => run('time_limit', { task_name: task, soft, hard: hard ?? null }, flags)),
  );
  control.addCommand(sub('heartbeat', 'Make workers send a worker-heartbeat event now').action((flags: Flags) => run('heartbeat', {}, flags)));
  for (const [verb, what] of [
    ['grow', 'Let workers run N more tasks at once (async pool)'],
    ['shrink', 'Let workers run N fewer tasks at once (async pool)'],
  ] as const) {
    control.addCommand(
      sub(`pool_${verb}`, what)
        .argument('[n]', 'by how many (default 1)', positiveInt)
        .action((n: number | undefined, flags: Flags) => run(`pool_${verb}`, { n: n ?? 1 }, flags)),
    );
  }
  control.addCommand(
    sub('autoscale', 'Change the autoscale range of workers started with --autoscale')
      .argument('<max>', 'most tasks at once', positiveInt)
      .argument('[min]', 'fewest tasks at once (default: unchanged)', nonNegativeInt)
      .action((max: number, min: number | undefined, flags: Flags) => run('autoscale', { max, min: min ?? null }, flags)),
  );
  control.addCommand(sub('pool_restart', 'Restart the pool (refused: restart the worker instead)').action((flags: Flags) => run('pool_restart', {}, flags)));
  control.addHelpText(
    'after',
    `
Examples:
  $ celeryts control rate_limit proj.tasks.add 10/s
  $ celeryts control time_limit proj.tasks.add 30 60
  $ celeryts control pool_grow 2
  $ celeryts control autoscale 10 3
  $ celeryts control revoke 6ac5d522-39b7-4d30-8121-19582643f5e7
  $ celeryts control add_consumer reports -d celery@myhost
  $ celeryts control cancel_consumer reports
  $ celeryts control shutdown -d celery@myhost`,
  );
  return control;
}
