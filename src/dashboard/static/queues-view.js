/** Queues (length and consumers) and the charts of throughput, failures and runtimes. */
import { chart } from './charts.js';
import { fmtDuration, fmtInt, h, mount } from './dom.js';
import { store } from './store.js';

const per = (n, s) => (s ? n / s : 0);

/** Render the view into `el`. */
export function renderQueues(el) {
  const bucket = store.meta.bucketSeconds || 5;
  const points = store.series.map((p) => ({ ...p, rate: per(p.succeeded, bucket), failRate: per(p.failed, bucket) }));
  const totals = store.series.reduce((a, p) => ({ s: a.s + p.succeeded, f: a.f + p.failed }), { s: 0, f: 0 });
  const minutes = Math.round((store.series.length * bucket) / 60);
  const rate = (v) => (v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));
  mount(
    el,
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Queues', h('small', {}, 'ready messages in the broker, and online workers consuming each')),
      store.queues.length
        ? h(
            'table',
            { id: 'queues' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Queue'), h('th', { class: 'num' }, 'Messages'), h('th', { class: 'num' }, 'Consumers'))),
            h(
              'tbody',
              {},
              store.queues.map((q) =>
                h(
                  'tr',
                  { 'data-queue': q.name },
                  h('td', { class: 'mono' }, q.name),
                  q.messages === null
                    ? h('td', { class: 'num muted', title: 'the broker does not know this queue (yet)' }, '–')
                    : h('td', { class: 'num' }, fmtInt(q.messages)),
                  h('td', { class: `num${q.consumers ? '' : ' error'}` }, fmtInt(q.consumers)),
                ),
              ),
            ),
          )
        : h('p', { class: 'empty' }, 'No queues known yet.'),
    ),
    h(
      'div',
      { class: 'grid three' },
      chart({
        id: 'chart-throughput',
        title: 'Throughput',
        subtitle: `tasks succeeded per second · ${fmtInt(totals.s)} in ${minutes} min`,
        points,
        lines: [{ key: 'rate', label: 'succeeded/s', color: '#1f8a4c', fill: true }],
        format: rate,
      }),
      chart({
        id: 'chart-failures',
        title: 'Failures',
        subtitle: `tasks failed per second · ${fmtInt(totals.f)} in ${minutes} min`,
        points,
        lines: [{ key: 'failRate', label: 'failed/s', color: '#c62f3a', fill: true }],
        format: rate,
      }),
      chart({
        id: 'chart-runtime',
        title: 'Runtime percentiles',
        subtitle: `per ${bucket} s`,
        points,
        lines: [
          { key: 'p50', label: 'p50', color: '#1f6fc5' },
          { key: 'p90', label: 'p90', color: '#c88a12' },
          { key: 'p99', label: 'p99', color: '#c62f3a' },
        ],
        format: fmtDuration,
      }),
    ),
  );
}
