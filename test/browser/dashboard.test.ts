/**
 * The dashboard page in headless Chromium, against a real worker on RabbitMQ: what an operator
 * sees and does. One browser for the whole file; each dashboard on a free port.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import type { BrowserContext, Page } from 'playwright-core';
import { startDashboard, type TestDashboard } from '../support/dashboard.js';
import { eventually, startInProcess, type InProcess } from '../support/harness.js';
import { launchBrowser } from './chromium.js';

const AMQP = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const QUEUE = `dash-ui-${randomUUID().slice(0, 8)}`;

describe('dashboard page in Chromium', () => {
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  let w: InProcess;
  let d: TestDashboard;
  let page: Page;
  const errors: string[] = [];
  const send = (name: string, args: unknown[]) => w.client.sendTask(name, args, {}, { queue: QUEUE });
  const row = (id: string, state: string) => `tr[data-task="${id}"][data-state="${state}"]`;

  before(async () => {
    [browser, d] = await Promise.all([launchBrowser(), startDashboard(AMQP)]);
    context = browser.context;
    w = await startInProcess({ brokerUrl: AMQP, config: { sendEvents: true }, queues: [QUEUE] });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    // A task page opened before the dashboard saw the task gets a 404 first (then fills in live): not a page error.
    page.on('console', (m) => void (m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(m.text())));
  });

  after(async () => {
    await browser?.close();
    await w?.stop();
    await d?.close();
  });

  it('a worker appears, online, with its pool and queue', async () => {
    await page.goto(d.url);
    const card = page.locator(`[data-worker="${w.worker.nodeName}"][data-status="online"]`);
    await card.waitFor({ timeout: 10_000 });
    await card.locator('[data-field="pool"]', { hasText: 'async × 4' }).waitFor();
    await card.locator('[data-field="queues"]', { hasText: QUEUE }).waitFor();
    assert.match(await page.locator('#live').innerText(), /live/);
  });

  it('a sent task shows up and its row turns SUCCESS live, without a reload', async () => {
    await page.click('#nav a[data-view="tasks"]');
    await page.evaluate(() => Object.assign(globalThis, { stillHere: true }));
    const r = await send('app.jobs.step', ['watched', 400]);
    await page.waitForSelector(row(r.id, 'STARTED'), { timeout: 10_000 });
    await page.waitForSelector(row(r.id, 'SUCCESS'), { timeout: 10_000 });
    assert.equal(await page.evaluate(() => (globalThis as unknown as { stillHere?: boolean }).stillHere), true, 'the page was not reloaded');
    assert.match(await page.locator(`tr[data-task="${r.id}"]`).innerText(), /app\.jobs\.step[\s\S]*\('watched', 400\)/);
  });

  it('filters narrow the table and search by id opens the task', async () => {
    const ok = await send('app.jobs.add', [20, 22]);
    const bad = await send('app.jobs.divide', [4, 0]);
    await page.waitForSelector(row(bad.id, 'FAILURE'), { timeout: 10_000 });
    await page.waitForSelector(row(ok.id, 'SUCCESS'), { timeout: 10_000 });
    await page.selectOption('select[data-filter="state"]', 'FAILURE');
    await page.waitForSelector(`tr[data-task="${ok.id}"]`, { state: 'detached' });
    assert.ok(await page.locator(row(bad.id, 'FAILURE')).isVisible());
    await page.selectOption('select[data-filter="state"]', '');
    await page.fill('input[type="search"]', ok.id);
    await page.press('input[type="search"]', 'Enter');
    await page.waitForSelector('#task-name:has-text("app.jobs.add")');
    assert.match(await page.locator('dl.fields').innerText(), /Result\s+42/);
  });

  it('a failure shows its traceback on the task page', async () => {
    await page.goto(`${d.url}#/tasks`);
    await page.fill('input[type="search"]', ''); // the search of the last test is still there, as an operator left it
    const r = await send('app.jobs.divide', [1, 0]);
    await page.click(`${row(r.id, 'FAILURE')} a`, { timeout: 10_000 });
    const tb = page.locator('#traceback');
    await tb.waitFor();
    assert.match(await tb.innerText(), /^RangeError: division by zero\n\s+at /);
    assert.match(await page.locator('ol.timeline').innerText(), /task-received[\s\S]*task-started[\s\S]*task-failed/);
  });

  it('terminate from the page stops a running task', async () => {
    const r = await send('app.jobs.step', ['doomed', 3000]);
    await page.goto(`${d.url}#/task/${r.id}`);
    await page.waitForSelector('.task-head .state.STARTED', { timeout: 10_000 });
    await page.click('button:has-text("Terminate…")');
    await page.click('dialog[open] button[data-confirm]');
    await page.waitForSelector('.task-head .state.REVOKED', { timeout: 10_000 });
    assert.equal(w.worker.active.size, 0, 'the worker no longer runs it');
    assert.equal(await page.locator('button:has-text("Terminate…")').count(), 0, 'no action on a finished task');
  });

  it('a rate limit set from the worker card reaches the worker', async () => {
    await page.goto(d.url);
    const card = page.locator(`[data-worker="${w.worker.nodeName}"]`);
    await card.locator('button:has-text("Rate limit…")').click();
    await page.fill('dialog[open] input[name="task"]', 'app.jobs.add');
    await page.fill('dialog[open] input[name="rate"]', '7/s');
    await page.click('dialog[open] button[data-confirm]');
    await page.locator('.toast', { hasText: 'new rate limit set successfully' }).waitFor();
    assert.equal(w.app.registry.get('app.jobs.add')!.rateLimit, '7/s');
  });

  it('read-only mode shows no action at all', async () => {
    const ro = await startDashboard(AMQP, { readOnly: true, enableEvents: false });
    const p = await context.newPage();
    try {
      await p.goto(ro.url);
      await p.locator(`[data-worker="${w.worker.nodeName}"]`).waitFor({ timeout: 10_000 });
      assert.ok(await p.locator('#readonly').isVisible());
      assert.equal(await p.locator('main button').count(), 0);
      const r = await send('app.jobs.step', ['ro', 1500]);
      await p.goto(`${ro.url}#/task/${r.id}`);
      await p.waitForSelector('.task-head .state.STARTED', { timeout: 10_000 });
      assert.equal(await p.locator('main button').count(), 0);
    } finally {
      await p.close();
      await ro.close();
    }
  });

  it('with a token, refuses the page and the API until the token is given', async () => {
    const locked = await startDashboard(AMQP, { token: `t-${randomUUID()}`, enableEvents: false });
    const token = locked.dashboard.options.token!;
    const p = await context.newPage();
    try {
      await p.goto(locked.url);
      assert.match(p.url(), /\/login$/);
      const api = await p.evaluate(async () => (await fetch('/api/workers')).status);
      assert.equal(api, 401);
      await p.fill('input[name="token"]', 'wrong');
      await p.click('button[type="submit"]');
      await p.locator('#failed').waitFor();
      await p.fill('input[name="token"]', token);
      await p.click('button[type="submit"]');
      await p.locator(`[data-worker="${w.worker.nodeName}"]`).waitFor({ timeout: 10_000 });
      assert.equal(await p.evaluate(async () => (await fetch('/api/workers')).status), 200);
    } finally {
      await p.close();
      await locked.close();
    }
  });

  it('shutdown asks first: cancel keeps the worker, confirm stops it and the card turns offline', async () => {
    await page.goto(d.url);
    const card = page.locator(`[data-worker="${w.worker.nodeName}"]`);
    await card.locator('button:has-text("Shut down…")').click();
    await page.click('dialog[open] button:has-text("Cancel")');
    await card.locator('button:has-text("Shut down…")').click();
    assert.match(await page.locator('dialog[open] h3').innerText(), /Shut down/);
    await page.click('dialog[open] button[data-confirm]');
    await page.locator(`[data-worker="${w.worker.nodeName}"][data-status="offline"]`).waitFor({ timeout: 10_000 });
    await eventually(() => w.worker.state === 'stopped', 10_000, 'worker stopped');
    assert.deepEqual(errors, [], 'no error in the page');
  });
});
