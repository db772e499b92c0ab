/**
 * The caller's side, in a process of its own: client URL QUEUE N CALLS [RESULT_BACKEND].
 * - end-to-end: send N bench.noop calls at once (pipelined publishes) and await every result
 *   (rpc:// by default, or the given result backend); tasks/s from the first send to the last
 *   result.
 * - round trip: CALLS calls one after another (after a warm-up), each awaited to its result.
 * Prints one JSON line.
 */
import { createApp } from 'celeryts';

const [url = '', queue = '', nArg = '20000', callsArg = '2000', resultBackend = 'rpc://'] = process.argv.slice(2);
const n = Number(nArg);
const calls = Number(callsArg);
const app = await createApp({ brokerUrl: url, configFile: new URL('./celeryts.config.ts', import.meta.url).pathname, logLevel: 'warn', resultBackend });
const send = () => app.sendTask('bench.noop', [], {}, { queue });

// Warm up: connection, reply queue, declarations, JIT.
for (let i = 0; i < 200; i++) await (await send()).get({ timeout: 30 });

const t0 = performance.now();
const sent = await Promise.all(Array.from({ length: n }, send));
await Promise.all(sent.map((r) => r.get({ timeout: 300 })));
const e2eSeconds = (performance.now() - t0) / 1000;

const times: number[] = [];
for (let i = 0; i < calls; i++) {
  const s = performance.now();
  await (await send()).get({ timeout: 30 });
  times.push(performance.now() - s);
}
times.sort((a, b) => a - b);
const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? NaN;

process.stdout.write(`${JSON.stringify({ e2eRate: n / e2eSeconds, p50: pct(50), p99: pct(99), calls })}\n`);
await app.close();
process.exit(0);
