/**
 * One task: its fields, result or traceback, retries, the timeline of its events, the stored
 * result from the result backend when it keeps results, and revoke / terminate.
 */
import { getJson, post } from './api.js';
import { ask } from './dialog.js';
import { fmtDuration, fmtTime, h, mount, pill } from './dom.js';
import { store } from './store.js';

const FINISHED = new Set(['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED']);
let current;
let el;

async function revoke(t, terminate) {
  const v = await ask({
    title: terminate ? `Terminate ${t.name ?? 'task'}?` : `Revoke ${t.name ?? 'task'}?`,
    text: terminate
      ? 'Workers skip this task if it has not started, and stop it if it is running.'
      : 'Workers skip this task when it arrives. A task that is already running keeps running.',
    confirm: terminate ? 'Terminate' : 'Revoke',
    danger: true,
  });
  if (v) await post(`/api/task/revoke/${encodeURIComponent(t.uuid)}`, terminate ? { terminate: 'true' } : {});
}

const field = (label, value, mono = false) =>
  value === null || value === undefined || value === '' ? null : [h('dt', {}, label), h('dd', { class: mono ? 'mono' : '' }, value)];

function timeline(t) {
  if (!t.timeline?.length) return h('p', { class: 'muted' }, 'No events.');
  return h(
    'ol',
    { class: 'timeline' },
    t.timeline.map((e) => {
      const extra = Object.entries(e.detail ?? {})
        .filter(([k]) => k !== 'exception')
        .map(([k, v]) => `${k}=${typeof v === 'number' && k === 'runtime' ? fmtDuration(v) : JSON.stringify(v)}`)
        .join('  ');
      return h(
        'li',
        { class: e.type },
        h('b', {}, e.type),
        h('span', { class: 'when' }, fmtTime(e.timestamp), e.hostname ? ` on ${e.hostname}` : ''),
        extra ? h('div', { class: 'mono muted' }, extra) : null,
        e.detail?.exception ? h('div', { class: 'mono error' }, e.detail.exception) : null,
      );
    }),
  );
}

async function storedResult(t) {
  const box = h('div', {}, h('p', { class: 'muted' }, 'Reading the result backend…'));
  const backend = store.meta.resultBackend;
  if (backend === 'rpc' || backend === 'none') {
    mount(
      box,
      h(
        'p',
        { class: 'muted' },
        `The result backend (${backend}) does not store results by id: the result above is the one the worker reported in its events.`,
      ),
    );
    return box;
  }
  getJson(`/api/task/result/${encodeURIComponent(t.uuid)}`)
    .then((r) =>
      mount(
        box,
        h('dl', { class: 'fields' }, field('State', pill(r.state)), field('Result', r.result === undefined ? '' : JSON.stringify(r.result), true)),
        r.traceback ? h('pre', { class: 'traceback' }, r.traceback) : null,
      ),
    )
    .catch((err) => mount(box, h('p', { class: 'error' }, err.message)));
  return box;
}

async function draw(id) {
  let t;
  try {
    t = await getJson(`/api/task/info/${encodeURIComponent(id)}`);
  } catch (err) {
    if (current !== id) return;
    mount(
      el,
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Task ', h('span', { class: 'mono' }, id)),
        h(
          'p',
          { class: err.status === 404 ? 'muted' : 'error' },
          err.status === 404 ? 'The dashboard has not seen this task (or has forgotten it).' : err.message,
        ),
        h('div', {}, await storedResult({ uuid: id })),
      ),
    );
    return;
  }
  if (current !== id) return;
  const actions =
    store.meta.readOnly || FINISHED.has(t.state)
      ? null
      : h(
          'div',
          { class: 'actions' },
          h('button', { class: 'danger', onclick: () => revoke(t, false) }, 'Revoke…'),
          h('button', { class: 'danger solid', onclick: () => revoke(t, true) }, 'Terminate…'),
        );
  mount(
    el,
    h('p', {}, h('a', { href: '#/tasks' }, '← all tasks')),
    h(
      'div',
      { class: 'task-head' },
      pill(t.state),
      h('h2', { id: 'task-name' }, t.name ?? '(unknown task)'),
      h('span', { class: 'mono muted' }, t.uuid),
      actions,
    ),
    h(
      'div',
      { class: 'grid three' },
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Details'),
        h(
          'dl',
          { class: 'fields' },
          field('State', t.state),
          field('Worker', t.worker),
          field('Args', t.args, true),
          field('Kwargs', t.kwargs, true),
          field('Result', t.result, true),
          field('Exception', t.exception, true),
          field('Retries', t.retries),
          field('Runtime', fmtDuration(t.runtime)),
          field('Sent', fmtTime(t.sent)),
          field('Received', fmtTime(t.received)),
          field('Started', fmtTime(t.started)),
          field('Succeeded', fmtTime(t.succeeded)),
          field('Failed', fmtTime(t.failed)),
          field('Retried', fmtTime(t.retried)),
          field('Revoked', fmtTime(t.revoked)),
          field('ETA', t.eta),
          field('Expires', t.expires),
          field('Root', t.root_id && t.root_id !== t.uuid ? h('a', { href: `#/task/${t.root_id}` }, t.root_id) : null),
          field('Parent', t.parent_id ? h('a', { href: `#/task/${t.parent_id}` }, t.parent_id) : null),
        ),
      ),
      h('section', { class: 'card' }, h('h2', {}, 'Timeline'), timeline(t)),
    ),
    t.traceback ? h('section', { class: 'card' }, h('h2', {}, 'Traceback'), h('pre', { class: 'traceback', id: 'traceback' }, t.traceback)) : null,
    h('section', { class: 'card' }, h('h2', {}, 'Stored result'), await storedResult(t)),
  );
}

/** Render the page of task `id` into `target`. */
export function renderTask(target, id) {
  el = target;
  current = id;
  mount(el, h('p', { class: 'muted' }, 'Loading…'));
  void draw(id);
}

/** A live batch: redraw when it touched this task. */
export function updateTask() {
  if (current && el?.isConnected && store.changed.has(current)) void draw(current);
}

/** Leaving the page. */
export function leaveTask() {
  current = undefined;
}
