/**
 * Example tasks. With root 'tasks-example' this file is module `proj.tasks`, so `add` is
 * `proj.tasks.add` wherever it is imported from.
 */
import { task, Task } from 'celeryts';
import { connect, connectionsOpened, type Connection } from './db.js';

/** The classic. */
export const add = task((x: number, y: number) => x + y);

export const mul = task((x: number, y: number) => x * y);

/** Sum of a list: `celeryts call proj.tasks.xsum '[1,2,3]' --wait`. */
export const xsum = task((numbers: number[]) => numbers.reduce((a, b) => a + b, 0));

/**
 * Sends add(i, i) for each i below n, to the queue it came from, and returns their ids. Tasks
 * sent while a task runs are its children: their parent_id is its id, and its stored result
 * lists them (`children`), as Celery's do.
 */
export const fanout = task({ bind: true }, async (self, n: number) => {
  const queue = self.request.deliveryInfo.routingKey;
  const sent = await Promise.all(Array.from({ length: n }, (_, i) => add.applyAsync([i, i], {}, { queue })));
  return sent.map((r) => r.id);
});

/** bind: true passes the task first, so the body can read its request. */
export const hello = task({ bind: true }, (self, name: string) => `hello ${name} from ${self.request.hostname} (task ${self.request.id})`);

/** Fails on purpose: the caller gets the error type and message. */
export const fail = task((message: string) => {
  throw new TypeError(message);
});

/** Waits, then returns: for watching concurrency and shutdown. */
export const sleep = task(async (seconds: number) => {
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return seconds;
});

/**
 * The seed's DatabaseTask: one instance serves every call, so a connection opened lazily on
 * the instance is opened once per worker, not once per call.
 */
export class DatabaseTask extends Task {
  #db: Promise<Connection> | undefined;
  get db(): Promise<Connection> {
    this.#db ??= connect();
    return this.#db;
  }
}

/** Runs a query through the task's cached connection; reports how many connections exist. */
export const query = task({ base: DatabaseTask, bind: true }, async (self, sql: string) => {
  const db = await self.db;
  const row = await db.query(sql);
  return { ...row, opened: connectionsOpened() };
});

/** Rate limited to 10 per second per worker. */
export const limited = task({ rateLimit: '10/s' }, (n: number) => n);

/** Retries itself (same task id, retries + 1) until it has retried `succeedOn` times. */
export const flaky = task({ bind: true, maxRetries: 3 }, (self, succeedOn: number = 1) => {
  if (self.request.retries < succeedOn) throw self.retry({ exc: new Error('not yet'), countdown: 0.1 });
  return self.request.retries;
});
