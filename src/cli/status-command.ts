import { Command } from 'commander';
import { reportError } from './common.js';
import { addBroadcastOptions, runBroadcast } from './inspect-command.js';
import { nodesOnline } from './inspect-format.js';

/** `celeryts status`: which workers answer a ping (Celery's `celery status`). */
export function statusCommand(): Command {
  const cmd = new Command('status').description('List the workers that answer a ping (celeryts and Python alike)');
  addBroadcastOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ celeryts status
  $ celeryts status --timeout 3 --json`,
  );
  return cmd.action(async (flags: Parameters<typeof runBroadcast>[2]) => {
    let code: number;
    try {
      code = await runBroadcast('ping', {}, flags, true, (replies) =>
        [
          ...Object.keys(replies)
            .sort()
            .map((node) => `->  ${node}: OK`),
          '',
          nodesOnline(Object.keys(replies).length),
        ].join('\n'),
      );
    } catch (err) {
      code = reportError(err);
    }
    process.exit(code);
  });
}
