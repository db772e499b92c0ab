import { Command } from 'commander';
import { addCommonOptions, announce, appFromFlags, reportError, type CommonFlags } from './common.js';
import { formatReplies, isErrorReply } from './inspect-format.js';
import { collect, seconds } from './parse-args.js';

interface BroadcastFlags extends CommonFlags {
  timeout?: number;
  destination?: string[];
  json?: boolean;
}

/** Commands `inspect` knows (read-only). */
export const INSPECT_METHODS = [
  'ping',
  'registered',
  'active',
  'reserved',
  'scheduled',
  'stats',
  'revoked',
  'active_queues',
  'query_task',
  'conf',
  'clock',
  'report',
  'memsample',
  'memdump',
  'objgraph',
] as const;

/** The request arguments of an inspect method, from its positional words (as `celery inspect` reads them). */
function inspectArgs(method: string, words: string[]): Record<string, unknown> {
  if (method === 'registered') return { taskinfoitems: [] };
  if (method === 'query_task') return { ids: words };
  if (method === 'conf') return { with_defaults: words[0] === 'include_defaults' || words[0] === 'true' || words[0] === '1' };
  if (method === 'memdump' && words[0] !== undefined) return { samples: Number(words[0]) };
  return {};
}

/** Send one pidbox command through a fresh app, print the replies (`format`, or JSON with --json), return the exit code. */
export async function runBroadcast(
  method: string,
  args: Record<string, unknown>,
  flags: BroadcastFlags,
  reply = true,
  format: (replies: Record<string, unknown>) => string = (r) => formatReplies(method, r),
): Promise<number> {
  const app = await appFromFlags(flags, {}, 'warn');
  announce(app, method);
  try {
    const control = await app.control();
    const opts = { timeout: flags.timeout ?? 1, reply, ...(flags.destination ? { destination: flags.destination } : {}) };
    const replies = await control.broadcast(method, args, opts);
    if (!reply) return 0;
    if (flags.json) process.stdout.write(`${JSON.stringify(replies)}\n`);
    else if (Object.keys(replies).length) process.stdout.write(`${format(replies)}\n`);
    if (Object.keys(replies).length === 0) {
      process.stderr.write('Error: No nodes replied within time constraint.\n');
      return 1;
    }
    // A worker that answered with an error (unknown task, bad argument) fails the command, so scripts notice.
    return Object.values(replies).some(isErrorReply) ? 1 : 0;
  } finally {
    await app.close().catch(() => undefined);
  }
}

/** Add --timeout, --destination, --json. */
export function addBroadcastOptions(cmd: Command): Command {
  return addCommonOptions(
    cmd
      .option('-t, --timeout <seconds>', 'how long to wait for replies (default 1)', seconds)
      .option('-d, --destination <node>', 'only ask this node (repeatable or comma separated)', collect)
      .option('-j, --json', 'print { "<node>": <answer> } as JSON'),
  );
}

/** `celeryts inspect <method>`: ask running workers (celeryts and Python alike). */
export function inspectCommand(): Command {
  const cmd = new Command('inspect')
    .description(`Ask running workers: ${INSPECT_METHODS.join(', ')}`)
    .argument('<method>', INSPECT_METHODS.join(' | '))
    .argument('[ids...]', 'task ids (query_task); conf: include_defaults; memdump: samples');
  addBroadcastOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ celeryts inspect registered
  $ celeryts inspect ping -d celery@myhost --timeout 2
  $ celeryts inspect stats --json
  $ celeryts inspect active_queues
  $ celeryts inspect query_task 6ac5d522-39b7-4d30-8121-19582643f5e7
  $ celeryts inspect conf include_defaults
  $ celeryts inspect memdump 5`,
  );
  return cmd.action(async (method: string, ids: string[], flags: BroadcastFlags) => {
    if (!(INSPECT_METHODS as readonly string[]).includes(method)) {
      process.stderr.write(`celeryts: unknown inspect method '${method}' (expected one of ${INSPECT_METHODS.join(', ')})\n`);
      process.exit(2);
    }
    let code: number;
    try {
      const args = inspectArgs(method, ids);
      code = await runBroadcast(method, args, flags);
    } catch (err) {
      code = reportError(err);
    }
    process.exit(code);
  });
}
