/**
 * The tasks view: a live table of the most recent tasks with filters (state, name, worker,
 * time) and search. Rows change in place as events arrive; filters also ask the server for
 * older matching tasks it still holds (it keeps more than the page).
 */
import { getJson, toast } from './api.js';
import { fmtDuration, fmtInt, fmtTime, h, mount, pill } from './dom.js';
import { putTasks, serverNow, store } from './store.js';

const STATES = ['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED', 'REJECTED'];
const SINCE = [
  ['', 'any time'],
  ['60', 'last minute'],
  ['300', 'last 5 minutes'],
  ['900', 'last 15 minutes'],
  ['3600', 'last hour'],
  ['86400', 'last 24 hours'],
];
/** Rows drawn at most (a table of 5,000 rows helps nobody; filters narrow it). */
const ROWS = 300;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const filters = { state: '', name: '', worker: '', since: '', search: '' };
let tbody;
let countEl;
let controls;

function matches(t, now) {
  if (filters.state && t.state !== filters.state) return false;
  if (filters.name && t.name !== filters.name) return false;
  if (filters.worker && t.worker !== filters.worker) return false;
  if (filters.since && (t.received ?? t.timestamp ?? 0) < now - Number(filters.since)) return false;
  if (filters.search) {
    const s = filters.search.toLowerCase();
    return [t.uuid, t.name, t.args, t.kwargs].some((v) => v?.toLowerCase().includes(s));
  }
  return true;
}

function row(t) {
  const runtime = t.runtime ?? (t.state === 'STARTED' && t.started ? serverNow() - t.started : null);
  return h(
    'tr',
    {
      class: `clickable${store.changed.has(t.uuid) ? ' flash' : ''}`,
      'data-task': t.uuid,
      'data-state': t.state,
      onclick: () => (location.hash = `#/task/${t.uuid}`),
    },
    h('td', {}, pill(t.state)),
    h('td', {}, h('a', { href: `#/task/${t.uuid}` }, t.name ?? '(unknown)'), h('div', { class: 'mono muted' }, t.uuid)),
    h('td', { class: 'args mono', title: `${t.args ?? ''} ${t.kwargs ?? ''}` }, t.args ?? '', t.kwargs && t.kwargs !== '{}' ? ` ${t.kwargs}` : ''),
    h('td', {}, t.worker ?? ''),
    h('td', { class: 'num' }, fmtTime(t.received)),
    h('td', { class: 'num' }, fmtTime(t.started)),
    h('td', { class: 'num' }, fmtDuration(runtime)),
  );
}

/** Rows drawn last time, by id: an unchanged row is reused, so a click never lands on a replaced row. */
let drawn = new Map();

function cachedRow(t) {
  const key = JSON.stringify(t);
  const old = drawn.get(t.uuid);
  return old && old.key === key ? old : { key, tr: row(t) };
}

/** Redraw the rows only (the filter bar keeps its focus). */
function drawRows() {
  if (!tbody?.isConnected) return;
  const now = serverNow();
  const next = new Map();
  let total = 0;
  const all = [...store.tasks.values()];
  for (let i = all.length - 1; i >= 0; i--) {
    if (!matches(all[i], now)) continue;
    total++;
    if (next.size < ROWS) next.set(all[i].uuid, cachedRow(all[i]));
  }
  drawn = next;
  const out = [...next.values()].map((r) => r.tr);
  mount(
    tbody,
    out.length ? out : h('tr', {}, h('td', { colspan: 7, class: 'empty' }, store.tasks.size ? 'No task matches these filters.' : 'No tasks seen yet.')),
  );
  const m = store.meta;
  mount(
    countEl,
    `${fmtInt(total)} shown${total > ROWS ? ` (first ${ROWS})` : ''}. The dashboard keeps the last ${fmtInt(m.maxTasks)} tasks in memory`,
    ` (${fmtInt(m.total)} now${m.forgotten ? `, ${fmtInt(m.forgotten)} older ones forgotten` : ''}).`,
  );
}

/** Ask the server for older tasks matching the filters. */
async function backfill() {
  const q = new URLSearchParams({ limit: '500' });
  if (filters.state) q.set('state', filters.state);
  if (filters.name) q.set('taskname', filters.name);
  if (filters.worker) q.set('workername', filters.worker);
  if (filters.since) q.set('received_start', String(serverNow() - Number(filters.since)));
  if (filters.search) q.set('search', filters.search);
  try {
    const found = Object.values(await getJson(`/api/tasks?${q}`)).reverse();
    const missing = found.filter((t) => !store.tasks.has(t.uuid)).map((t) => ({ ...t, received: t.received ?? t.sent }));
    if (missing.length) {
      const current = [...store.tasks.values()];
      store.tasks.clear();
      putTasks([...missing, ...current].sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0)));
      drawRows();
    }
  } catch (err) {
    toast(`Could not load older tasks: ${err.message}`, true);
  }
}

function select(key, options) {
  return h(
    'select',
    {
      'aria-label': key,
      'data-filter': key,
      onchange: (e) => {
        filters[key] = e.target.value;
        drawRows();
        backfill();
      },
    },
    options.map(([v, label]) => h('option', { value: v, selected: filters[key] === v }, label)),
  );
}

function buildControls() {
  const names = [...store.taskNames].sort();
  const workers = [...store.workers.keys()].sort();
  const search = h('input', {
    type: 'search',
    placeholder: 'Search id, name or arguments — Enter on a full id opens the task',
    value: filters.search,
    'aria-label': 'search',
    oninput: (e) => {
      filters.search = e.target.value.trim();
      drawRows();
    },
    onkeydown: (e) => {
      if (e.key !== 'Enter') return;
      const v = e.target.value.trim();
      if (UUID.test(v)) location.hash = `#/task/${v}`;
      else backfill();
    },
  });
  return h(
    'div',
    { class: 'filters' },
    search,
    select('state', [['', 'All states'], ...STATES.map((s) => [s, s])]),
    select('name', [['', 'All tasks'], ...names.map((n) => [n, n])]),
    select('worker', [['', 'All workers'], ...workers.map((w) => [w, w])]),
    select('since', SINCE),
  );
}

/** Render the whole view into `el`. */
export function renderTasks(el) {
  tbody = h('tbody');
  countEl = h('p', { class: 'note', id: 'task-count' });
  controls = h('div', {}, buildControls());
  mount(
    el,
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Tasks', h('small', {}, 'live')),
      controls,
      h(
        'table',
        { id: 'tasks' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'State'),
            h('th', {}, 'Task'),
            h('th', {}, 'Arguments'),
            h('th', {}, 'Worker'),
            h('th', { class: 'num' }, 'Received'),
            h('th', { class: 'num' }, 'Started'),
            h('th', { class: 'num' }, 'Runtime'),
          ),
        ),
        tbody,
      ),
      countEl,
    ),
  );
  drawRows();
}

/** A live update: rows, and the filter choices when new names or workers appeared. */
export function updateTasks(kind) {
  if (!tbody?.isConnected) return;
  const known = controls.querySelectorAll('select[data-filter="name"] option').length - 1;
  const knownWorkers = controls.querySelectorAll('select[data-filter="worker"] option').length - 1;
  if ((known !== store.taskNames.size || knownWorkers !== store.workers.size) && !controls.contains(document.activeElement)) mount(controls, buildControls());
  if (kind !== 'workers') drawRows();
}
