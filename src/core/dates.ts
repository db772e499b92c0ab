/** Format a time as Python's isoformat() with UTC offset: 2026-11-24T08:43:32.964000+00:00. */
export function toPythonIso(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

/** Parse an ISO 8601 time (Python or JS style; naive times are UTC, as Celery assumes). */
export function parseIso(value: string): number {
  const naive = !/(Z|[+-]\d\d:?\d\d)$/i.test(value);
  // JS Date reads at most milliseconds; drop extra fractional digits first.
  const v = value.replace(/(\.\d{3})\d+/, '$1');
  return Date.parse(naive ? `${v}Z` : v);
}
