import { InvalidArgumentError } from 'commander';

/** A positional task argument: JSON where it parses as JSON, else the string itself. */
export function parseTaskArg(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Commander parser for a JSON option of a given shape. */
export function jsonOption(kind: 'array' | 'object') {
  return (raw: string): unknown => {
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      throw new InvalidArgumentError(`not valid JSON: ${(err as Error).message}`);
    }
    const ok = kind === 'array' ? Array.isArray(v) : v !== null && typeof v === 'object' && !Array.isArray(v);
    if (!ok) throw new InvalidArgumentError(`must be a JSON ${kind}`);
    return v;
  };
}

/** Commander parser for a positive integer. */
export function positiveInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a whole number above 0');
  return n;
}

/** Commander parser for a non-negative number of seconds. */
export function seconds(raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds');
  return n;
}

/** Collect a repeatable option; also splits comma lists (-Q a,b). */
export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

/** Commander parser for `--autoscale MAX,MIN` (MIN defaults to 0, as in Celery). */
export function autoscaleRange(raw: string): [number, number] {
  const parts = raw.split(',').map((p) => Number(p.trim()));
  const [max, min = 0] = parts;
  if (parts.length > 2 || !Number.isInteger(max) || !Number.isInteger(min) || max! < 1 || min < 0 || min > max!) {
    throw new InvalidArgumentError('must be MAX,MIN: whole numbers, MAX above 0 and at least MIN (e.g. 10,3)');
  }
  return [max!, min];
}

/** Commander parser for a whole number, 0 or more. */
export function nonNegativeInt(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number, 0 or more');
  return n;
}
