/**
 * The page's copy of the cluster, kept live by the server's event stream (/events, SSE): a
 * snapshot on (re)connect, then batches of changed tasks and workers, queue lengths and chart
 * points. Nothing here polls: the server pushes, the page listens.
 */

/** Tasks the page holds at most (the server keeps more; filters ask it for older ones). */
const MAX_PAGE_TASKS = 5000;

export const store = {
  connected: false,
  meta: {},
  workers: new Map(),
  tasks: new Map(),
  queues: [],
  series: [],
  taskNames: new Set(),
  /** Server clock minus ours, ms: ages are computed against the server's time. */
  skewMs: 0,
  /** uuids changed by the last batch (rows flash). */
  changed: new Set(),
  listeners: new Set(),
};

/** Now, in the server's epoch seconds. */
export const serverNow = () => (Date.now() + store.skewMs) / 1000;

/** Call fn(kind) after every change ('snapshot', 'tasks', 'workers', 'queues', 'series', 'live'). */
export function subscribe(fn) {
  store.listeners.add(fn);
  return () => store.listeners.delete(fn);
}

function emit(kind) {
  for (const fn of store.listeners) fn(kind);
}

/** Insert or replace task rows, newest last, bounded. */
export function putTasks(rows) {
  for (const row of rows) {
    store.tasks.delete(row.uuid);
    store.tasks.set(row.uuid, row);
    if (row.name) store.taskNames.add(row.name);
  }
  while (store.tasks.size > MAX_PAGE_TASKS) store.tasks.delete(store.tasks.keys().next().value);
}

/** Merge chart points by bucket time, keeping the window's length. */
function mergeSeries(points) {
  const byT = new Map(store.series.map((p) => [p.t, p]));
  for (const p of points) byT.set(p.t, p);
  store.series = [...byT.values()].sort((a, b) => a.t - b.t).slice(-(store.meta.series?.length || 180));
}

/** Open the event stream; EventSource reconnects by itself and the server resends a snapshot. */
export function connect() {
  const source = new EventSource('/events');
  source.addEventListener('open', () => {
    store.connected = true;
    emit('live');
  });
  source.addEventListener('error', () => {
    store.connected = false;
    emit('live');
  });
  source.addEventListener('snapshot', (ev) => {
    const s = JSON.parse(ev.data);
    store.skewMs = s.now * 1000 - Date.now();
    store.meta = s;
    store.workers = new Map(s.workers.map((w) => [w.hostname, w]));
    store.tasks = new Map();
    putTasks([...s.tasks].reverse());
    for (const n of s.taskNames) store.taskNames.add(n);
    store.queues = s.queues;
    store.series = s.series;
    store.connected = true;
    emit('snapshot');
  });
  source.addEventListener('tasks', (ev) => {
    const batch = JSON.parse(ev.data);
    putTasks(batch.rows);
    store.changed = new Set(batch.rows.map((r) => r.uuid));
    Object.assign(store.meta, { total: batch.total, forgotten: batch.forgotten, events: batch.events });
    emit('tasks');
  });
  source.addEventListener('workers', (ev) => {
    const batch = JSON.parse(ev.data);
    store.skewMs = batch.now * 1000 - Date.now();
    for (const w of batch.workers) store.workers.set(w.hostname, w);
    emit('workers');
  });
  source.addEventListener('queues', (ev) => {
    store.queues = JSON.parse(ev.data).queues;
    emit('queues');
  });
  source.addEventListener('series', (ev) => {
    mergeSeries(JSON.parse(ev.data).points);
    emit('series');
  });
  return source;
}
