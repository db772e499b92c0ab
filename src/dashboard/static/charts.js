/** Line charts drawn as SVG by the page: no chart library, a few dozen lines. */
import { h, svg } from './dom.js';

const W = 600;
const H = 180;
const PAD = { l: 60, r: 12, t: 12, b: 26 };

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v) ?? v;
}

/**
 * chart({ title, subtitle, points, lines: [{ key, label, color, fill }], format })
 * points: [{ t, ...values }], t in epoch seconds.
 */
export function chart({ title, subtitle, points, lines, format = (v) => String(v), id }) {
  const values = points.flatMap((p) => lines.map((l) => p[l.key]).filter((v) => v !== null && v !== undefined));
  const max = niceMax(Math.max(0, ...values));
  const x = (i) => PAD.l + (i / Math.max(1, points.length - 1)) * (W - PAD.l - PAD.r);
  const y = (v) => H - PAD.b - (v / max) * (H - PAD.t - PAD.b);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => [
    svg('line', { class: 'gridline', x1: PAD.l, x2: W - PAD.r, y1: y(max * f), y2: y(max * f) }),
    svg('text', { class: 'axis', x: PAD.l - 6, y: y(max * f) + 3, 'text-anchor': 'end' }, format(max * f)),
  ]);
  const ticks = [];
  for (let i = 0; i < points.length; i += Math.max(1, Math.floor(points.length / 5))) {
    const d = new Date(points[i].t * 1000);
    ticks.push(
      svg(
        'text',
        { class: 'axis', x: x(i), y: H - 6, 'text-anchor': 'middle' },
        d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false }),
      ),
    );
  }
  const paths = lines.map((l) => {
    let d = '';
    let pen = false;
    points.forEach((p, i) => {
      const v = p[l.key];
      const gap = v === null || v === undefined;
      if (!gap) d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = !gap;
    });
    // A value between two gaps has no line to be part of: draw it as a dot.
    const dots = points
      .map((p, i) => [p[l.key], i])
      .filter(([v, i]) => v !== null && v !== undefined && (points[i - 1]?.[l.key] ?? null) === null && (points[i + 1]?.[l.key] ?? null) === null)
      .map(([v, i]) => svg('circle', { cx: x(i), cy: y(v), r: 3, fill: l.color }));
    const area =
      l.fill && points.length
        ? svg('path', { d: `${d}L${x(points.length - 1)},${y(0)}L${x(0)},${y(0)}Z`, fill: l.color, 'fill-opacity': 0.12, stroke: 'none' })
        : null;
    return [area, svg('path', { d, fill: 'none', stroke: l.color, 'stroke-width': 2, 'stroke-linejoin': 'round' }), ...dots];
  });
  const last = points.at(-1) ?? {};
  return h(
    'section',
    { class: 'card chart', id },
    h('h3', {}, title, h('small', {}, subtitle)),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title }, ...grid.flat(), ...ticks, ...paths.flat()),
    h(
      'div',
      { class: 'legend' },
      lines.map((l) =>
        h(
          'span',
          {},
          svg('svg', { width: 12, height: 4, class: 'swatch' }, svg('rect', { width: 12, height: 4, rx: 1, fill: l.color })),
          ` ${l.label}: ${last[l.key] === null || last[l.key] === undefined ? '–' : format(last[l.key])}`,
        ),
      ),
    ),
  );
}
