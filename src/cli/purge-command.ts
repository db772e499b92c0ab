import { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { addCommonOptions, announce, appFromFlags, reportError, type CommonFlags } from './common.js';
import { collect } from './parse-args.js';

interface PurgeFlags extends CommonFlags {
  force?: boolean;
  queues?: string[];
  excludeQueues?: string[];
}

const plural = (n: number, word: string) => `${word}${n === 1 ? '' : 's'}`;

/** `celeryts purge`: delete every waiting task from the known task queues (Celery's `celery purge`). */
export function purgeCommand(): Command {
  const cmd = new Command('purge')
    .description('Delete all waiting tasks from the task queues (no undo)')
    .option('-f, --force', 'do not ask for confirmation')
    .option('-Q, --queues <names>', 'queues to purge, comma separated (default: the default queue and the config `queues`)', collect)
    .option('-X, --exclude-queues <names>', 'queues to leave alone, comma separated', collect);
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ celeryts purge                 # asks first; type yes
  $ celeryts purge -f -Q reports   # no question asked
  $ celeryts purge -f -X important

Tasks a worker has already received (prefetched, running, or waiting for their eta in the
worker) are not in the queue and are not purged.`,
  );
  return cmd.action(async (flags: PurgeFlags) => {
    let code = 0;
    try {
      const app = await appFromFlags(flags, {}, 'warn');
      announce(app, 'purge');
      try {
        const excluded = new Set(flags.excludeQueues ?? []);
        const named = flags.queues ?? [app.config.defaultQueue, ...Object.keys(app.config.queues)];
        const queues = [...new Set(named)].filter((q) => !excluded.has(q));
        if (!queues.length) {
          process.stderr.write('celeryts: no queues to purge\n');
          code = 2;
        } else if (flags.force || (await confirm(queues))) {
          const broker = await app.broker();
          let purged = 0;
          let n = 0;
          // Never declared here: purging a mistyped name must not leave a new empty queue behind.
          for (const q of queues) {
            if ((await broker.queueSize(q)) === undefined) {
              process.stderr.write(`celeryts: queue '${q}' does not exist on ${broker.displayUrl}; nothing to purge there\n`);
              continue;
            }
            n++;
            purged += await broker.purgeQueue(q);
          }
          process.stdout.write(
            purged
              ? `Purged ${purged} ${plural(purged, 'message')} from ${n} known task ${plural(n, 'queue')}.\n`
              : `No messages purged from ${n} ${plural(n, 'queue')}.\n`,
          );
        } else code = 1;
      } finally {
        await app.close().catch(() => undefined);
      }
    } catch (err) {
      code = reportError(err);
    }
    process.exit(code);
  });
}

/** Celery's question; only `yes` purges. Without a terminal to ask on, refuse: -f says it. */
async function confirm(queues: string[]): Promise<boolean> {
  if (!process.stdin.isTTY) {
    process.stderr.write(`celeryts: refusing to purge ${queues.join(', ')} without confirmation (stdin is not a terminal): pass -f\n`);
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    process.stdout.write(
      `WARNING: This will remove all tasks from ${plural(queues.length, 'queue')}: ${queues.join(', ')}.\n         There is no undo for this operation!\n\n(to skip this prompt use the -f option)\n\n`,
    );
    const answer = await rl.question('Are you sure you want to delete all tasks (yes/NO)? ');
    return answer.trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}
