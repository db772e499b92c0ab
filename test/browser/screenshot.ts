/**
 * Regenerates docs/dashboard.png (the README's picture): a worker on RabbitMQ, a mix of tasks,
 * and the tasks view as an operator sees it. Not a test; run it by hand:
 *   npm run build && node --import tsx test/browser/screenshot.ts
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { startDashboard } from '../support/dashboard.js';
import { startInProcess } from '../support/harness.js';
import { REPO } from '../support/helpers.js';
import { launchBrowser } from './chromium.js';

const AMQP = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const queue = `screenshot-${randomUUID().slice(0, 8)}`;
const [d, w, browser] = await Promise.all([
  startDashboard(AMQP),
  startInProcess({ brokerUrl: AMQP, config: { sendEvents: true }, queues: [queue] }),
  launchBrowser(),
]);
const send = (name: string, args: unknown[]) => w.client.sendTask(name, args, {}, { queue });
try {
  for (let i = 0; i < 12; i++) await send('app.jobs.add', [i, i * 3]);
  for (const [label, ms] of [
    ['thumbnail', 120],
    ['report', 800],
    ['invoice', 350],
  ] as const)
    await send('app.jobs.step', [label, ms]);
  await send('app.jobs.divide', [10, 0]);
  await send('app.jobs.whoami', ['ops']);
  await send('app.jobs.step', ['nightly-export', 60_000]);
  await send('app.jobs.step', ['resize-batch', 45_000]);
  await new Promise((r) => setTimeout(r, 2500));
  const page = await browser.context.newPage();
  await page.goto(`${d.url}#/tasks`);
  await page.waitForSelector('tr[data-state="FAILURE"]');
  await new Promise((r) => setTimeout(r, 1200));
  const file = path.join(REPO, 'docs', 'dashboard.png');
  await page.screenshot({ path: file });
  console.log(file);
} finally {
  await browser.close();
  await d.close();
  process.exit(0);
}
