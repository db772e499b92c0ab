import { Command } from 'commander';
import { DeadLetterQueue, type DeadLetter } from '../client/dead-letter-queue.js';
import type { App } from '../app.js';
import { ConfigError } from '../core/errors.js';
import { addCommonOptions, announce, appFromFlags, reportError, type CommonFlags } from './common.js';

interface DlqFlags extends CommonFlags {
  queue?: string;
  json?: boolean;
  all?: boolean;
  force?: boolean;
  to?: string;
}

/** Run `body` against the opened dead-letter queue; messages not replayed or purged go back. Returns the exit code. */
async function withQueue(flags: DlqFlags, body: (q: DeadLetterQueue, app: App) => Promise<number>): Promise<number> {
  try {
    const app = await appFromFlags(flags, {}, 'warn');
    announce(app, 'dlq');
    try {
      const name = flags.queue ?? app.config.deadLetterQueue;
      if (!name) throw new ConfigError('deadLetterQueue is null in the config: there is no dead-letter queue to read (pass --queue NAME)');
      const q = await DeadLetterQueue.open(await app.broker(), name);
      try {
        return await body(q, app);
      } finally {
        await q.release();
      }
    } finally {
      await app.close().catch(() => undefined);
    }
  } catch (err) {
    return reportError(err);
  }
}

/** The messages `ids` name (every message with --all); exit 2 with a message when that is nothing. */
function chosen(q: DeadLetterQueue, ids: string[], all: boolean | undefined, verb: string): DeadLetter[] | undefined {
  if (!ids.length && !all) {
    process.stderr.write(`celeryts dlq ${verb}: name task ids, or pass --all\n`);
    return undefined;
  }
  const picked = q.select(all ? [] : ids);
  const found = new Set(picked.map((m) => m.id));
  for (const id of ids) if (!found.has(id)) process.stderr.write(`celeryts dlq ${verb}: no message with task id ${id} in '${q.queue}'\n`);
  return picked;
}

function line(m: DeadLetter): string {
  return [m.id ?? '-', m.task ?? '-', m.reason ?? '-', m.queue ?? '-', m.at ?? '-'].join('  ');
}

function bodyText(m: DeadLetter): unknown {
  const text = m.delivery.body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return m.delivery.body.length > 4096 ? `${text.slice(0, 4096)}... (${m.delivery.body.length} bytes)` : text;
  }
}

function shown(m: DeadLetter): Record<string, unknown> {
  const { delivery, ...summary } = m;
  return { ...summary, headers: delivery.headers, properties: delivery.properties, body: bodyText(m) };
}

/** `celeryts dlq list|show|replay|purge`: what the workers dead-lettered, and why. */
export function dlqCommand(): Command {
  const cmd = new Command('dlq').description('Messages the workers refused (poison tasks, unknown tasks, malformed messages): list, show, replay, purge');
  const sub = (name: string, description: string): Command =>
    addCommonOptions(new Command(name).description(description).option('--queue <name>', 'dead-letter queue (default: config deadLetterQueue, celeryts.dlq)'));

  cmd.addCommand(
    sub('list', 'one line per message: task id, task, reason, original queue, when')
      .option('--json', 'one JSON object per message')
      .action(async (flags: DlqFlags) => {
        process.exit(
          await withQueue(flags, async (q) => {
            for (const m of q.messages) process.stdout.write(`${flags.json ? JSON.stringify({ ...m, delivery: undefined }) : line(m)}\n`);
            process.stderr.write(`${q.messages.length} message(s) in '${q.queue}'\n`);
            return 0;
          }),
        );
      }),
  );
  cmd.addCommand(
    sub('show', 'print messages in full (headers, body) and why they were dead-lettered')
      .argument('<ids...>', 'task ids')
      .action(async (ids: string[], flags: DlqFlags) => {
        process.exit(
          await withQueue(flags, async (q) => {
            const picked = chosen(q, ids, false, 'show') ?? [];
            for (const m of picked) process.stdout.write(`${JSON.stringify(shown(m), null, 2)}\n`);
            return picked.length === ids.length ? 0 : 1;
          }),
        );
      }),
  );
  cmd.addCommand(
    sub('replay', 'put messages back on the queue they came from (their poison count starts afresh)')
      .argument('[ids...]', 'task ids')
      .option('--all', 'every message in the dead-letter queue')
      .option('--to <queue>', 'publish to this queue instead of the original one')
      .action(async (ids: string[], flags: DlqFlags) => {
        process.exit(
          await withQueue(flags, async (q) => {
            const picked = chosen(q, ids, flags.all, 'replay');
            if (!picked) return 2;
            for (const m of picked) process.stdout.write(`replayed ${m.id ?? '-'} to ${await q.replay(m, flags.to)}\n`);
            return flags.all || picked.length === ids.length ? 0 : 1;
          }),
        );
      }),
  );
  cmd.addCommand(
    sub('purge', 'delete messages from the dead-letter queue (no undo)')
      .argument('[ids...]', 'task ids')
      .option('--all', 'every message (with -f)')
      .option('-f, --force', 'needed with --all')
      .action(async (ids: string[], flags: DlqFlags) => {
        process.exit(
          await withQueue(flags, async (q) => {
            if (flags.all && !flags.force) {
              process.stderr.write('celeryts dlq purge --all deletes every dead-lettered message: add -f\n');
              return 2;
            }
            const picked = chosen(q, ids, flags.all, 'purge');
            if (!picked) return 2;
            for (const m of picked) await q.purge(m);
            process.stdout.write(`purged ${picked.length} message(s) from '${q.queue}'\n`);
            return flags.all || picked.length === ids.length ? 0 : 1;
          }),
        );
      }),
  );
  return cmd.addHelpText(
    'after',
    `
Examples:
  $ celeryts dlq list
  $ celeryts dlq show 0b5c...        # headers, body and the reason
  $ celeryts dlq replay 0b5c...      # back to its queue
  $ celeryts dlq replay --all
  $ celeryts dlq purge 0b5c...
  $ celeryts dlq purge --all -f`,
  );
}
