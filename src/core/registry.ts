import { NotRegisteredError, TaskNamingError } from './errors.js';
import type { Task } from './task.js';

/** Edit distance, for "did you mean" suggestions. */
export function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest names to `name` among `candidates`, best first. */
export function closest(name: string, candidates: Iterable<string>, max = 3): string[] {
  const scored: [string, number][] = [];
  for (const c of candidates) {
    const d = levenshtein(name.toLowerCase(), c.toLowerCase());
    const tail = name.split('.').pop()!;
    // A matching last segment is a strong hint even when the module path differs.
    const score = c.endsWith(`.${tail}`) ? Math.min(d, 1) : d;
    if (score <= Math.max(2, Math.floor(name.length / 4))) scored.push([c, score]);
  }
  return scored
    .sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]))
    .slice(0, max)
    .map(([c]) => c);
}

/** Tasks by name. One per name; a second task with a taken name is an error naming both files. */
export class TaskRegistry {
  readonly #tasks = new Map<string, Task<any, any>>();

  register(task: Task<any, any>): void {
    const existing = this.#tasks.get(task.name);
    if (existing && existing !== task) {
      throw new TaskNamingError(`two tasks are named '${task.name}': one in ${existing.definingFile ?? '?'} and one in ${task.definingFile ?? '?'}`);
    }
    this.#tasks.set(task.name, task);
  }

  get(name: string): Task<any, any> | undefined {
    return this.#tasks.get(name);
  }

  /** The task, or NotRegisteredError with suggestions. */
  require(name: string): Task<any, any> {
    const t = this.#tasks.get(name);
    if (!t) throw new NotRegisteredError(name, closest(name, this.#tasks.keys()));
    return t;
  }

  has(name: string): boolean {
    return this.#tasks.has(name);
  }

  /** Registered names, sorted. */
  names(): string[] {
    return [...this.#tasks.keys()].sort();
  }

  get size(): number {
    return this.#tasks.size;
  }
}
