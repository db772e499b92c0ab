/**
 * Top self-time functions of a V8 .cpuprofile (node --cpu-prof), as the bench's BENCHMARKS.md
 * summarises them:
 *   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top 25] [--window executeJob]
 * --window NAME keeps only the samples between the first and the last one taken inside a
 * function called NAME (the drain, without start-up and shutdown).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, window: { type: 'string' } } });
const file = positionals[0];
if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [--top N] [--window FUNCTION]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Does this sample's stack contain a function called `name`? */
function inside(id: number, name: string): boolean {
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur)?.callFrame.functionName === name) return true;
  return false;
}

let from = 0;
let to = profile.samples.length;
if (values.window) {
  const hits = profile.samples.map((id, i) => (inside(id, values.window!) ? i : -1)).filter((i) => i >= 0);
  if (hits.length) [from, to] = [hits[0]!, hits[hits.length - 1]! + 1];
}
const self = new Map<string, number>();
let total = 0;
for (let i = from; i < to; i++) {
  const node = byId.get(profile.samples[i]!)!;
  const dt = profile.timeDeltas[i] ?? 0;
  const f = node.callFrame;
  const where = f.url ? `${path.relative(process.cwd(), f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : '';
  const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
}
const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top ?? 25));
process.stdout.write(`${(total / 1000).toFixed(0)} ms sampled\n`);
for (const [key, us] of top) process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}\n`);
