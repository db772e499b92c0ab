import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { beatCommand } from './beat-command.js';
import { callCommand } from './call-command.js';
import { addGlobalOptions, applyGlobalOptions, exitCodeOf } from './common.js';
import { controlCommand } from './control-command.js';
import { dashboardCommand } from './dashboard-command.js';
import { dlqCommand } from './dlq-command.js';
import { eventsCommand } from './events-command.js';
import { inspectCommand } from './inspect-command.js';
import { purgeCommand } from './purge-command.js';
import { reportCommand } from './report-command.js';
import { resultCommand } from './result-command.js';
import { shellCommand } from './shell-command.js';
import { statusCommand } from './status-command.js';
import { workerCommand } from './worker-command.js';

/** The `celeryts` program. To add a command: write `xCommand(): Command` in x-command.ts and list it here. */
export function program(): Command {
  const root = new Command('celeryts').description('Celery-compatible distributed task queue for TypeScript').version(VERSION);
  addGlobalOptions(root)
    .addCommand(workerCommand())
    .addCommand(callCommand())
    .addCommand(inspectCommand())
    .addCommand(controlCommand())
    .addCommand(resultCommand())
    .addCommand(statusCommand())
    .addCommand(purgeCommand())
    .addCommand(dlqCommand())
    .addCommand(eventsCommand())
    .addCommand(beatCommand())
    .addCommand(dashboardCommand())
    .addCommand(shellCommand())
    .addCommand(reportCommand())
    .addHelpText(
      'after',
      `
Examples:
  $ celeryts worker                          # start a worker (tasks from celeryts.config.ts)
  $ celeryts -A proj.tasks worker -l INFO    # Celery's order and level names work too
  $ celeryts call proj.tasks.add 2 3 --wait  # prints the task id, then 5
  $ celeryts inspect registered              # what running workers can run
  $ celeryts status                          # which workers are online
  $ celeryts events                          # watch workers started with -E
  $ celeryts beat                            # send the config's periodic tasks (beatSchedule)
  $ celeryts dashboard                       # web dashboard on http://127.0.0.1:5555/
  $ celeryts shell                           # a REPL with the app and the tasks loaded

Exit codes: 0 ok; 1 a task failed, a worker answered with an error or none answered;
2 usage or configuration error.`,
    );
  return applyGlobalOptions(root);
}

try {
  await program().parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CommanderError)) throw err;
  process.exit(exitCodeOf(err));
}
