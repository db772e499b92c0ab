/**
 * Celery's debugging remote-control commands, with its reply shapes: `memsample` (the RSS now,
 * kept as a sample) and `memdump` (the samples since the last dump, then the RSS after a
 * collection, as text), and `objgraph`, refused: it graphs Python objects.
 */
import type { ControlCommand } from './control.js';

const UNITS: [number, string][] = [
  [2 ** 40, 'TB'],
  [2 ** 30, 'GB'],
  [2 ** 20, 'MB'],
  [2 ** 10, 'KB'],
  [0, 'b'],
];

/** Celery's humanbytes(): '52.66MB' (5 significant digits, integers bare). */
export function humanBytes(n: number): string {
  const [div, unit] = UNITS.find(([d]) => n >= d) ?? [0, 'b'];
  const f = div ? n / div : n;
  return `${Number.isInteger(f) ? f : Number(f.toPrecision(5))}${unit}`;
}

/** Celery's sample(): `n` items spread evenly over `list`. */
function spread<T>(list: T[], n: number): T[] {
  if (list.length <= n) return [...list];
  const step = Math.floor(list.length / n);
  return Array.from({ length: n }, (_, i) => list[i * step]!);
}

/** memsample, memdump and objgraph for one worker process. */
export function debugCommands(): Record<string, ControlCommand> {
  const samples: string[] = [];
  const rss = () => humanBytes(process.memoryUsage.rss());
  return {
    memsample: () => {
      const now = rss();
      samples.push(now);
      return now;
    },
    memdump: (args) => {
      const n = typeof args['samples'] === 'number' && args['samples'] > 0 ? Math.floor(args['samples']) : 10;
      const prev = spread(samples.splice(0), n);
      // Celery collects garbage first; Node exposes gc() only with --expose-gc.
      (globalThis as { gc?: () => void }).gc?.();
      const lines = prev.length ? ['- rss (sample):', ...prev.map((m) => `-    > ${m},`)] : [];
      lines.push(`- rss (end): ${rss()}.`);
      return `${lines.join('\n')}\n`;
    },
    objgraph: () => ({
      error:
        'objgraph is not available: it graphs Python objects. For a celeryts worker take a heap snapshot (node --inspect, or --heapsnapshot-signal=SIGUSR2)',
    }),
  };
}
