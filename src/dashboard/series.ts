/**
 * Time series for the charts: per fixed-width bucket, how many tasks succeeded and failed and
 * the runtime percentiles of those that finished. Bounded: `buckets` buckets, and at most
 * SAMPLES runtimes per bucket (reservoir sampling keeps percentiles honest past that).
 */

/** One closed or open bucket as the page draws it. */
export interface SeriesPoint {
  /** Bucket start, seconds since the epoch. */
  t: number;
  succeeded: number;
  failed: number;
  /** Runtime percentiles in seconds (null when no task finished in the bucket). */
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

interface Bucket {
  t: number;
  succeeded: number;
  failed: number;
  seen: number;
  samples: number[];
}

const SAMPLES = 256;

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Rolling window of buckets. */
export class TaskSeries {
  readonly #buckets: Bucket[] = [];

  constructor(
    /** Seconds per bucket. */
    readonly bucketSeconds = 5,
    /** Buckets kept (default: 15 minutes of 5 s). */
    readonly buckets = 180,
  ) {}

  #bucket(ts: number): Bucket | undefined {
    const t = Math.floor(ts / this.bucketSeconds) * this.bucketSeconds;
    const last = this.#buckets.at(-1);
    if (last && t === last.t) return last;
    if (last && t < last.t) {
      // A late event: find its bucket (rare, and the window is short).
      return this.#buckets.find((b) => b.t === t);
    }
    const b: Bucket = { t, succeeded: 0, failed: 0, seen: 0, samples: [] };
    this.#buckets.push(b);
    if (this.#buckets.length > this.buckets) this.#buckets.shift();
    return b;
  }

  /** Count a finished task at `ts` (seconds) with its runtime, if known. */
  record(kind: 'succeeded' | 'failed', ts: number, runtime?: number): void {
    const b = this.#bucket(ts);
    if (!b) return;
    b[kind]++;
    if (runtime === undefined || !Number.isFinite(runtime)) return;
    b.seen++;
    if (b.samples.length < SAMPLES) b.samples.push(runtime);
    else {
      const i = Math.floor(Math.random() * b.seen);
      if (i < SAMPLES) b.samples[i] = runtime;
    }
  }

  /** The window, oldest first, empty buckets filled in up to `now`. */
  points(now = Date.now() / 1000): SeriesPoint[] {
    const end = Math.floor(now / this.bucketSeconds) * this.bucketSeconds;
    const start = end - (this.buckets - 1) * this.bucketSeconds;
    const byT = new Map(this.#buckets.map((b) => [b.t, b]));
    const out: SeriesPoint[] = [];
    for (let t = start; t <= end; t += this.bucketSeconds) {
      const b = byT.get(t);
      const sorted = b ? [...b.samples].sort((x, y) => x - y) : [];
      out.push({
        t,
        succeeded: b?.succeeded ?? 0,
        failed: b?.failed ?? 0,
        p50: percentile(sorted, 50),
        p90: percentile(sorted, 90),
        p99: percentile(sorted, 99),
      });
    }
    return out;
  }
}
