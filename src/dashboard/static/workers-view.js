/** The workers view: one card per worker, live counters, and the actions an operator may take. */
import { post } from './api.js';
import { ask } from './dialog.js';
import { fmtAge, fmtInt, h, mount, pill } from './dom.js';
import { serverNow, store } from './store.js';

const enc = encodeURIComponent;
/** Workers whose registered-task list is unfolded (kept across live re-renders). */
const unfolded = new Set();
const remember = (name) => (e) => (e.target.open ? unfolded.add(name) : unfolded.delete(name));

async function rateLimit(w) {
  const v = await ask({
    title: `Rate limit on ${w.hostname}`,
    fields: [
      { name: 'task', label: 'Task name', value: w.registered[0] ?? '' },
      { name: 'rate', label: "Rate ('10/s', '100/m', '0' to remove)", value: '10/s' },
    ],
    confirm: 'Set rate limit',
  });
  if (v) await post(`/api/task/rate-limit/${enc(v.task)}`, { ratelimit: v.rate, workername: w.hostname });
}

async function pool(w, action) {
  if (action === 'autoscale') {
    const v = await ask({
      title: `Autoscale ${w.hostname}`,
      fields: [
        { name: 'min', label: 'Minimum', value: '1', type: 'number' },
        { name: 'max', label: 'Maximum', value: String(w.pool?.maxConcurrency ?? 4), type: 'number' },
      ],
      confirm: 'Autoscale',
    });
    if (v) await post(`/api/worker/pool/autoscale/${enc(w.hostname)}`, v);
    return;
  }
  const v = await ask({
    title: `${action === 'grow' ? 'Grow' : 'Shrink'} the pool of ${w.hostname}`,
    fields: [{ name: 'n', label: 'By', value: '1', type: 'number' }],
    confirm: action === 'grow' ? 'Grow' : 'Shrink',
  });
  if (v) await post(`/api/worker/pool/${action}/${enc(w.hostname)}`, v);
}

async function consumer(w, action) {
  const v = await ask({
    title: action === 'add' ? `Consume another queue on ${w.hostname}` : `Stop consuming a queue on ${w.hostname}`,
    fields: [{ name: 'queue', label: 'Queue', value: action === 'add' ? '' : (w.queues[0] ?? '') }],
    confirm: action === 'add' ? 'Add consumer' : 'Cancel consumer',
  });
  if (v) await post(`/api/worker/queue/${action}-consumer/${enc(w.hostname)}`, v);
}

async function shutdown(w) {
  const v = await ask({
    title: `Shut down ${w.hostname}?`,
    text: 'The worker stops consuming, finishes the tasks it is running and exits. It will not come back unless something restarts it.',
    confirm: 'Shut down',
    danger: true,
  });
  if (v) await post(`/api/worker/shutdown/${enc(w.hostname)}`);
}

/** Cards stay in the page and are updated in place, so a button is never replaced under the pointer. */
const cards = new Map();

function makeCard(name, readOnly) {
  const f = {};
  const ref = (key, el) => (f[key] = el);
  const kv = (label, key) => h('div', {}, h('span', {}, label), ref(key, h('b', { 'data-field': key })));
  const get = () => store.workers.get(name);
  const el = h(
    'article',
    { class: 'card worker', 'data-worker': name },
    h('h3', {}, ref('status', h('span')), name),
    ref('sub', h('div', { class: 'sub' })),
    h(
      'div',
      { class: 'kv' },
      kv('Active', 'active'),
      kv('Processed', 'processed'),
      kv('Failed', 'failed'),
      kv('Load', 'load'),
      kv('Pool', 'pool'),
      kv('Succeeded', 'succeeded'),
      kv('Queues', 'nqueues'),
      kv('Tasks', 'ntasks'),
    ),
    ref('queues', h('div', { class: 'chips', 'data-field': 'queues' })),
    ref('registered', h('details', { ontoggle: remember(name) })),
    readOnly
      ? null
      : h(
          'div',
          { class: 'actions' },
          h('button', { onclick: () => rateLimit(get()) }, 'Rate limit…'),
          h('button', { onclick: () => pool(get(), 'grow') }, 'Grow pool'),
          h('button', { onclick: () => pool(get(), 'shrink') }, 'Shrink pool'),
          h('button', { onclick: () => pool(get(), 'autoscale') }, 'Autoscale…'),
          h('button', { onclick: () => consumer(get(), 'add') }, 'Add consumer…'),
          h('button', { onclick: () => consumer(get(), 'cancel') }, 'Cancel consumer…'),
          h('button', { class: 'danger', onclick: () => shutdown(get()) }, 'Shut down…'),
        ),
  );
  return { el, f, readOnly, last: '' };
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function updateCard(c, w, now) {
  const { f } = c;
  const age = w.lastHeartbeat === null ? null : now - w.lastHeartbeat;
  const software = [w.swIdent, w.swVer].filter(Boolean).join(' ');
  c.el.dataset.status = w.status;
  setText(f.sub, `heartbeat ${fmtAge(age)}${software ? ` · ${software}` : ''}${w.pid ? ` · pid ${w.pid}` : ''}`);
  const key = JSON.stringify([w.status, w.queues, w.registered]);
  if (key !== c.last) {
    c.last = key;
    mount(f.status, pill(w.status));
    mount(f.queues, w.queues.length ? w.queues.map((q) => h('span', { class: 'chip' }, q)) : h('span', { class: 'muted' }, 'queues: not known yet'));
    f.registered.hidden = !w.registered.length;
    f.registered.open = unfolded.has(w.hostname);
    mount(
      f.registered,
      h('summary', {}, `${w.registered.length} registered tasks`),
      h(
        'div',
        { class: 'chips' },
        w.registered.map((t) => h('span', { class: 'chip' }, t)),
      ),
    );
  }
  setText(f.active, fmtInt(w.active));
  setText(f.processed, fmtInt(w.processed));
  setText(f.failed, fmtInt(w.failed));
  f.failed.className = w.failed ? 'fail' : '';
  setText(f.load, w.loadavg.length ? w.loadavg.map((l) => l.toFixed(2)).join(' ') : '–');
  setText(f.pool, w.pool ? `${w.pool.implementation ?? 'pool'} × ${w.pool.maxConcurrency ?? '?'}` : '–');
  setText(f.succeeded, fmtInt(w.succeeded));
  setText(f.nqueues, fmtInt(w.queues.length));
  setText(f.ntasks, fmtInt(w.registered.length));
}

function card(w, now, readOnly) {
  let c = cards.get(w.hostname);
  if (!c || c.readOnly !== readOnly) cards.set(w.hostname, (c = makeCard(w.hostname, readOnly)));
  updateCard(c, w, now);
  return c.el;
}

let summary;
let list;

/** Render the view into `el` (cards are reused; only what changed is touched). */
export function renderWorkers(el) {
  const now = serverNow();
  const workers = [...store.workers.values()].sort((a, b) => (a.status === b.status ? a.hostname.localeCompare(b.hostname) : a.status === 'online' ? -1 : 1));
  const count = (s) => workers.filter((w) => w.status === s).length;
  const sum = (k) => workers.reduce((n, w) => n + (w.status === 'online' ? w[k] : 0), 0);
  if (!summary?.isConnected || !el.contains(summary)) {
    summary = h('div', { class: 'stats' });
    list = h('div', { class: 'workers' });
    mount(el, summary, list);
  }
  mount(
    summary,
    h('div', { class: 'stat ok' }, h('span', {}, 'Online'), h('b', { id: 'online-count' }, count('online'))),
    h(
      'div',
      { class: `stat${count('lost') + count('offline') ? ' fail' : ''}` },
      h('span', {}, 'Lost / offline'),
      h('b', {}, count('lost') + count('offline')),
    ),
    h('div', { class: 'stat run' }, h('span', {}, 'Active tasks'), h('b', {}, fmtInt(sum('active')))),
    h('div', { class: 'stat' }, h('span', {}, 'Processed'), h('b', {}, fmtInt(sum('processed')))),
    h('div', { class: 'stat fail' }, h('span', {}, 'Failed (seen)'), h('b', {}, fmtInt(sum('failed')))),
  );
  const els = workers.map((w) => card(w, now, Boolean(store.meta.readOnly)));
  if (!els.length)
    return mount(
      list,
      h('div', { class: 'card empty' }, 'No workers seen yet. Workers appear here when they send events (the dashboard asks them to) or answer inspect.'),
    );
  if (els.length !== list.children.length || els.some((e, i) => list.children[i] !== e)) list.replaceChildren(...els);
}
