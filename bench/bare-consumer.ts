/**
 * The baseline: the least a consumer of Celery messages can do. Consume with a prefetch bound,
 * JSON.parse the body, ack every message (one basic.ack each, no batching); the two marker
 * messages write their time like bench.mark does. Run as a child: bare-consumer URL QUEUE PREFETCH.
 */
import amqp from 'amqplib';
import { writeMark } from './lib/marks.js';

const [url = '', queue = '', prefetch = '500'] = process.argv.slice(2);
const conn = await amqp.connect(url);
const ch = await conn.createChannel();
await ch.prefetch(Number(prefetch));
await ch.consume(queue, (msg) => {
  if (!msg) return;
  const body = JSON.parse(msg.content.toString('utf8')) as [unknown[], unknown, unknown];
  if (msg.properties.headers?.['task'] === 'bench.mark') writeMark(String(body[0][0]));
  ch.ack(msg);
});
process.on('SIGTERM', () => {
  void conn.close().finally(() => process.exit(0));
});
