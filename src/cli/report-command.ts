import { Command } from 'commander';
import { reportText } from '../config/report.js';
import { addCommonOptions, appFromFlags, reportError, type CommonFlags } from './common.js';

/** `celeryts report`: Celery's `celery report`. */
export function reportCommand(): Command {
  const cmd = new Command('report').description('Print versions, platform and the resolved config (secrets masked) for bug reports');
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ celeryts report
  $ celeryts report --config deploy/celeryts.config.ts`,
  );
  return cmd.action(async (flags: CommonFlags) => {
    try {
      const app = await appFromFlags(flags, {}, 'warn');
      process.stdout.write(reportText(app.config));
      await app.close();
    } catch (err) {
      process.exit(reportError(err));
    }
  });
}
