/**
 * Reading remote-control arguments as a Python worker does: the requests come from Python tools
 * (Flower, `celery control`, `app.control.*`) as often as from celeryts, and Python code tests
 * flags by truthiness (`if terminate:`), so Flower's `terminate: 1` terminates.
 */

/** Python's `bool(value)` for a JSON value: false for null, false, 0, '', [] and {}. */
export function truthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

/** A task id argument, one or a list, as strings (Celery accepts both). */
export function taskIds(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : [];
}
