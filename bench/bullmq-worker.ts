/**
 * The bench's BullMQ consumer: a no-op processor (the drain markers write their time), at the
 * concurrency celeryts runs with. argv: redis URL, queue name, concurrency.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { writeMark } from './lib/marks.js';

const [url, queue, concurrency] = process.argv.slice(2) as [string, string, string];
const connection = new Redis(url, { maxRetriesPerRequest: null });
const worker = new Worker(
  queue,
  async (job) => {
    if (job.name === 'mark') writeMark((job.data as { path: string }).path);
    return null;
  },
  { connection, concurrency: Number(concurrency), removeOnComplete: { count: 0 }, removeOnFail: { count: 0 } },
);
process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
