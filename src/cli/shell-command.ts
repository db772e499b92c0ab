import { Command } from 'commander';
import type { App } from '../app.js';
import { chain, group } from '../core/canvas.js';
import { Signature } from '../core/signature.js';
import { task, Task } from '../core/task.js';
import { addCommonOptions, announce, appFromFlags, moduleRefsFromCli, reportError, type CommonFlags } from './common.js';
import { collect } from './parse-args.js';

interface ShellFlags extends CommonFlags {
  app?: string[];
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `celeryts shell`: Celery's `celery shell`, a Node REPL with the app and its tasks in scope. */
export function shellCommand(): Command {
  const cmd = new Command('shell')
    .description('A Node REPL with the app and the loaded tasks in scope (top-level await works)')
    .option('-A, --app <module>', 'task module to load besides the config imports (repeatable)', collect);
  addCommonOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ celeryts shell
  celeryts> await (await add.delay(2, 3)).get({ timeout: 10 })
  5
  celeryts> await app.sendTask('proj.tasks.mul', [6, 7])`,
  );
  return cmd.action(async (flags: ShellFlags) => {
    let app: App;
    try {
      app = await appFromFlags(flags, {}, 'warn');
      await app.loadTasks(moduleRefsFromCli(flags.app));
    } catch (err) {
      return process.exit(reportError(err));
    }
    announce(app, 'shell');
    // Tasks by their short name (add for proj.tasks.add) when it is free and a valid identifier; all of them in `tasks`.
    const tasks: Record<string, unknown> = {};
    const scope: Record<string, unknown> = { app, celery: app, tasks, task, Task, chain, group, Signature };
    const short = new Map<string, number>();
    for (const name of app.registry.names()) {
      const last = name.slice(name.lastIndexOf('.') + 1);
      short.set(last, (short.get(last) ?? 0) + 1);
    }
    for (const name of app.registry.names()) {
      tasks[name] = app.registry.get(name);
      const last = name.slice(name.lastIndexOf('.') + 1);
      if (short.get(last) === 1 && IDENTIFIER.test(last) && !(last in scope)) scope[last] = tasks[name];
    }
    process.stderr.write(`celeryts shell: ${Object.keys(scope).join(', ')} are in scope (tasks by full name in \`tasks\`); .exit or Ctrl-D quits\n`);
    // Imported here, not at the top: node:repl loads node:domain, which wraps every EventEmitter's
    // emit and adds a hook to every promise in whatever process imports it: every worker, since
    // main.ts lists every command (+15-20 MB RSS draining 100,000, BENCHMARKS.md).
    const { default: repl } = await import('node:repl');
    const server = repl.start({ prompt: 'celeryts> ', useGlobal: false });
    Object.assign(server.context, scope);
    server.on('exit', () => {
      void app.close().finally(() => process.exit(0));
    });
  });
}
