/** Python reprs of JSON values, as Celery puts them in `argsrepr`/`kwargsrepr` headers. */

/** Python-style repr of JSON values, close enough for argsrepr/kwargsrepr and events. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isInteger(value) || !Number.isFinite(value) ? String(value) : String(value);
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

/** Celery's argsrepr is the repr of a tuple. */
export function argsRepr(args: unknown[]): string {
  return args.length === 1 ? `(${pyRepr(args[0])},)` : `(${args.map(pyRepr).join(', ')})`;
}
