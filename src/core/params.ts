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
  /** Leading parameters a call must fill: plain names before the first default, destructuring or rest. */
  required: number;
}

/** True when a parameter's source has a default value (`y = 10`): an `=` outside brackets that is not `=>`. */
function hasDefault(param: string): boolean {
  let depth = 0;
  for (let i = 0; i < param.length; i++) {
    const c = param[i]!;
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === '=' && depth === 0 && param[i + 1] !== '>' && param[i + 1] !== '=' && param[i - 1] !== '=' && param[i - 1] !== '!') return true;
  }
  return false;
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
    return { names: [], kwargsIndex: -1, rest: false, required: 0 };
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
  let required = 0;
  let optionalSeen = false;
  const parts = splitTopLevel(list);
  parts.forEach((raw, i) => {
    const p = raw.trim();
    if (p.startsWith('...')) {
      rest = true;
      return;
    }
    if (p.startsWith('{')) {
      names.push('');
      optionalSeen = true;
      if (i === parts.length - 1) kwargsIndex = i;
      return;
    }
    const m = /^([A-Za-z_$][\w$]*)/.exec(p);
    names.push(m ? m[1]! : '');
    if (!m || hasDefault(p)) optionalSeen = true;
    else if (!optionalSeen) required++;
  });
  return { names, kwargsIndex, rest, required };
}

/** Python's list of names: 'x', 'x' and 'y', 'x', 'y', and 'z'. */
function quotedList(names: string[]): string {
  const q = names.map((n) => `'${n}'`);
  if (q.length <= 2) return q.join(' and ');
  return `${q.slice(0, -1).join(', ')}, and ${q.at(-1)}`;
}

/** Python's TypeError for a call that leaves required parameters empty. */
function checkRequired(spec: ParamSpec, args: unknown[], fnName: string): void {
  const missing: string[] = [];
  for (let i = 0; i < spec.required; i++) if (!(i in args)) missing.push(spec.names[i]!);
  if (missing.length === 0) return;
  const n = missing.length;
  throw new TypeError(`${fnName}() missing ${n} required positional argument${n === 1 ? '' : 's'}: ${quotedList(missing)}`);
}

/**
 * Merge kwargs into positional args by parameter name, as Python would bind them.
 * Leftover kwargs go to a trailing destructured parameter, else they are an error; so is a
 * required parameter left empty (TypeError, with Python's message naming `fnName`).
 */
export function bindArguments(spec: ParamSpec, args: unknown[], kwargs: Record<string, unknown>, fnName = 'task'): unknown[] {
  const keys = Object.keys(kwargs);
  if (keys.length === 0) {
    if (args.length < spec.required) checkRequired(spec, args, fnName);
    return args;
  }
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
  checkRequired(spec, out, fnName);
  return out;
}
