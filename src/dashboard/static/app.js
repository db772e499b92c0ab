/**
 * The page: a header, three views (workers, tasks, queues & charts) and a task page, routed by
 * the URL's hash, redrawn from the live store at most once per animation frame.
 */
import { fmtInt, mount } from './dom.js';
import { renderQueues } from './queues-view.js';
import { connect, store, subscribe } from './store.js';
import { leaveTask, renderTask, updateTask } from './task-view.js';
import { renderTasks, updateTasks } from './tasks-view.js';
import { renderWorkers } from './workers-view.js';

const view = document.getElementById('view');
let route = { name: 'workers' };

function parseHash() {
  const [, name = 'workers', ...rest] = location.hash.split('/');
  if (name === 'task' && rest.length) return { name: 'task', id: decodeURIComponent(rest.join('/')) };
  return { name: ['workers', 'tasks', 'queues'].includes(name) ? name : 'workers' };
}

function render() {
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.dataset.view === route.name || (route.name === 'task' && a.dataset.view === 'tasks'));
  if (route.name !== 'task') leaveTask();
  if (route.name === 'workers') renderWorkers(view);
  else if (route.name === 'tasks') renderTasks(view);
  else if (route.name === 'queues') renderQueues(view);
  else renderTask(view, route.id);
}

function header() {
  const live = document.getElementById('live');
  live.classList.toggle('off', !store.connected);
  live.textContent = store.connected ? 'live' : 'reconnecting…';
  document.getElementById('broker').textContent = store.meta.broker ?? '';
  document.getElementById('readonly').hidden = !store.meta.readOnly;
  const online = [...store.workers.values()].filter((w) => w.status === 'online').length;
  document.getElementById('nav-workers').textContent = store.workers.size ? `${online}/${store.workers.size}` : '';
  document.getElementById('nav-tasks').textContent = store.meta.total ? fmtInt(store.meta.total) : '';
  const m = store.meta;
  mount(
    document.getElementById('footer'),
    `celeryts ${m.version ?? ''} · ${m.transport ?? ''} broker · results: ${m.resultBackend ?? ''} · keeps the last ${fmtInt(m.maxTasks)} tasks in memory · ${fmtInt(m.events)} events received`,
  );
}

const pending = new Set();
let frame = 0;
/** Coalesce the changes of one frame into one redraw. */
function onChange(kind) {
  pending.add(kind);
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const kinds = new Set(pending);
    pending.clear();
    header();
    if (kinds.has('snapshot')) return render();
    if (route.name === 'workers' && (kinds.has('workers') || kinds.has('tick'))) renderWorkers(view);
    if (route.name === 'tasks' && (kinds.has('tasks') || kinds.has('workers'))) updateTasks(kinds.has('tasks') ? 'tasks' : 'workers');
    if (route.name === 'queues' && (kinds.has('queues') || kinds.has('series'))) renderQueues(view);
    if (route.name === 'task' && kinds.has('tasks')) updateTask();
  });
}

window.addEventListener('hashchange', () => {
  route = parseHash();
  render();
});
subscribe(onChange);
// Heartbeat ages move with the clock, not with events: redraw the workers view each second.
setInterval(() => onChange('tick'), 1000);
route = parseHash();
render();
connect();
