/**
 * celery-node 0.5.9's worker on the bench queue: celery-node-worker URL QUEUE. Its amqp result
 * backend declares a queue per task id even when the message has no reply_to; the drain
 * messages ask for no result (celeryts and Python send none for them), so the backend is
 * replaced by one that stores nothing. Everything else is celery-node as shipped: acks before
 * running, no prefetch bound, console.info per task received and succeeded.
 */
import { createWorker } from 'celery-node';
import { writeMark } from './lib/marks.js';

const [url = '', queue = ''] = process.argv.slice(2);
const worker = createWorker(url, url, queue);
const none = { isReady: () => Promise.resolve(), disconnect: () => Promise.resolve(), storeResult: () => Promise.resolve() };
(worker as unknown as { _backend: typeof none })._backend = none;
worker.register('bench.noop', () => null);
worker.register('bench.mark', (path: string) => {
  writeMark(path);
  return null;
});
await worker.start();
process.on('SIGTERM', () => process.exit(0));
