import { Command } from 'commander';
import { VERSION } from '../version.js';
import { callCommand } from './call-command.js';
import { controlCommand } from './control-command.js';
import { dashboardCommand } from './dashboard-command.js';
import { eventsCommand } from './events-command.js';
import { inspectCommand } from './inspect-command.js';
import { purgeCommand } from './purge-command.js';
import { statusCommand } from './status-command.js';
import { workerCommand } from './worker-command.js';

/** The `celeryts` program. */
export function program(): Command {
  return new Command('celeryts')
    .description('Celery-compatible distributed task queue for TypeScript')
    .version(VERSION)
    .addCommand(workerCommand())
    .addCommand(callCommand())
    .addCommand(inspectCommand())
    .addCommand(controlCommand())
    .addCommand(statusCommand())
    .addCommand(purgeCommand())
    .addCommand(eventsCommand())
    .addCommand(dashboardCommand())
    .addHelpText(
      'after',
      `
Examples:
  $ celeryts worker                          # start a worker (tasks from celeryts.config.ts)
  $ celeryts call proj.tasks.add 2 3 --wait  # prints 5
  $ celeryts inspect registered              # what running workers can run
  $ celeryts status                          # which workers are online
  $ celeryts events                          # watch workers started with -E
  $ celeryts dashboard                       # web dashboard on http://127.0.0.1:5555/`,
    );
}

await program().parseAsync(process.argv);
