/**
 * Parameter names of a JavaScript function, read from its source, so Celery keyword arguments
 * (`add.apply_async((2,), {'y': 3})` from Python) bind to the right positions.
 */

/** How a function's parameters take keyword arguments. */
export interface ParamSpec {
  /** Positional parameter names, in order; '' for a destructured or unreadable one. */
  names: string[];
  /** Index of a trailing destructured-object parameter that receives leftover kwargs, or -1. */
  kwargsIndex: number;
  /** True when a rest parameter (...args) ends the list. */
  rest: boolean;
}

function splitTopLevel(src: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  let quote = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (quote) {
      cur += c;
      if (c === '\\') cur += src[++i] ?? '';
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) parts.push(cur);
  return parts;
}

/** Read the parameter list of `fn`. */
export function paramSpec(fn: Function): ParamSpec {
  const src = Function.prototype.toString
    .call(fn)
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
  let list: string;
  const open = src.indexOf('(');
  const arrow = src.indexOf('=>');
  if (arrow !== -1 && (open === -1 || arrow < open)) {
    // `x => ...` or `async x => ...`
    list = src.slice(0, arrow).replace(/^async\s+/, '');
  } else if (open === -1) {
    return { names: [], kwargsIndex: -1, rest: false };
  } else {
    let depth = 0;
    let end = open;
    for (let i = open; i < src.length; i++) {
      if (src[i] === '(') depth++;
      else if (src[i] === ')' && --depth === 0) {
        end = i;
        break;
      }
    }
    list = src.slice(open + 1, end);
  }
  const names: string[] = [];
  let kwargsIndex = -1;
  let rest = false;
  const parts = splitTopLevel(list);
  parts.forEach((raw, i) => {
    const p = raw.trim();
    if (p.startsWith('...')) {
      rest = true;
      return;
    }
    if (p.startsWith('{')) {
      names.push('');
      if (i === parts.length - 1) kwargsIndex = i;
      return;
    }
    const m = /^([A-Za-z_$][\w$]*)/.exec(p);
    names.push(m ? m[1]! : '');
  });
  return { names, kwargsIndex, rest };
}

/**
 * Merge kwargs into positional args by parameter name, as Python would bind them.
 * Leftover kwargs go to a trailing destructured parameter, else they are an error.
 */
export function bindArguments(spec: ParamSpec, args: unknown[], kwargs: Record<string, unknown>): unknown[] {
  const keys = Object.keys(kwargs);
  if (keys.length === 0) return args;
  const out = [...args];
  const leftover: Record<string, unknown> = {};
  for (const k of keys) {
    const i = spec.names.indexOf(k);
    if (i !== -1 && i !== spec.kwargsIndex) {
      if (i < args.length) throw new TypeError(`got multiple values for argument '${k}'`);
      out[i] = kwargs[k];
    } else leftover[k] = kwargs[k];
  }
  if (Object.keys(leftover).length) {
    if (spec.kwargsIndex === -1) throw new TypeError(`got an unexpected keyword argument '${Object.keys(leftover)[0]}'`);
    out[spec.kwargsIndex] = { ...(out[spec.kwargsIndex] as object | undefined), ...leftover };
  }
  return out;
}
