/**
 * Tasks the fault suite drives. Each run appends `start|end ID REDELIVERED PID MS` to RECORD_FILE
 * (appendFileSync: one write(2) per line, so a SIGKILL never leaves half a line).
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { task } from 'celeryts';

function note(event: string, id: string, redelivered: boolean): void {
  const file = process.env['RECORD_FILE'];
  if (file) appendFileSync(file, `${event} ${id} ${redelivered ? 1 : 0} ${process.pid} ${Date.now()}\n`);
}

/** Records its id when it starts and when it ends, with request.deliveryInfo.redelivered. */
export const record = task({ bind: true }, async (self, id: string, ms = 0) => {
  const { redelivered } = self.request.deliveryInfo;
  note('start', id, redelivered);
  if (typeof ms === 'number' && ms > 0) await sleep(Math.min(ms, 5000));
  note('end', id, redelivered);
  return id;
});

/** Kills its own worker process on every delivery, as a task that runs out of memory would. */
export const poison = task({ acksLate: true, bind: true }, (self, id: string) => {
  note('start', id, self.request.deliveryInfo.redelivered);
  process.kill(process.pid, 'SIGKILL');
});

/** Throws unless given a number: arguments that make a task fail. */
export const strict = task((n: number) => {
  if (typeof n !== 'number') throw new TypeError(`strict wants a number, got ${JSON.stringify(n)}`);
  return n;
});

/** Returns what it was given (the fuzz test's target). */
export const echo = task((...args: unknown[]) => args.length);
