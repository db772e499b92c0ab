/**
 * Redis key names: kombu 5's layout (so Python Celery workers and clients share them), plus a few
 * keys of celeryts' own under `_celeryts.` that kombu never reads.
 *
 * ```
 * <q>, <q>\x06\x163, <q>\x06\x166, <q>\x06\x169   a queue's lists by priority step (LPUSH in, take from the right)
 * _kombu.binding.<exchange>                       set of "<routing key>\x06\x16<pattern>\x06\x16<queue>"
 * unacked                                         hash delivery tag -> json([envelope, exchange, routing key])
 * unacked_index                                   zset delivery tag -> delivery time (s, float)
 * unacked_mutex                                   lock of the visibility-timeout restore (SET NX PX)
 * /<db>.<exchange>[/<routing key>]                pub/sub channel of a fanout exchange
 * _celeryts.queues                                hash queue -> json(declared options)     (celeryts only)
 * _celeryts.bindings.<q>                          set of exchanges <q> is bound to          (celeryts only)
 * _celeryts.delayed                               zset "<len>:<list key><envelope>" -> due (ms) (celeryts only)
 * _celeryts.taking.<consumer>                     hash take seq -> tags of that take        (celeryts only)
 * ```
 * Every key and channel gets `globalKeyprefix` in front, as kombu's global_keyprefix does.
 */

/** kombu's separator in binding members and priority list names. */
export const SEP = '\x06\x16';
/** kombu's priority steps: a message of priority p goes to the list of the largest step <= p. */
export const PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** The priority step of a message priority (kombu clamps to 0..9; on Redis 0 is served first). */
export function priorityStep(priority: number | undefined): number {
  const p = typeof priority === 'number' && Number.isFinite(priority) ? Math.max(0, Math.min(9, Math.trunc(priority))) : 0;
  let step = 0;
  for (const s of PRIORITY_STEPS) if (s <= p) step = s;
  return step;
}

/** Key names of one Redis database for one prefix. */
export class Keys {
  readonly unacked: string;
  readonly unackedIndex: string;
  readonly unackedMutex: string;
  readonly queueMeta: string;
  readonly delayed: string;
  readonly fanoutPrefix: string;

  constructor(
    readonly prefix: string,
    db: number,
  ) {
    this.unacked = `${prefix}unacked`;
    this.unackedIndex = `${prefix}unacked_index`;
    this.unackedMutex = `${prefix}unacked_mutex`;
    this.queueMeta = `${prefix}_celeryts.queues`;
    this.delayed = `${prefix}_celeryts.delayed`;
    this.fanoutPrefix = `${prefix}/${db}.`;
  }

  /** The list holding `queue`'s messages of one priority step. */
  list(queue: string, step = 0): string {
    return step === 0 ? this.prefix + queue : `${this.prefix}${queue}${SEP}${step}`;
  }

  /** All four lists of a queue, in the order they are served. */
  lists(queue: string): string[] {
    return PRIORITY_STEPS.map((s) => this.list(queue, s));
  }

  binding(exchange: string): string {
    return `${this.prefix}_kombu.binding.${exchange}`;
  }

  queueBindings(queue: string): string {
    return `${this.prefix}_celeryts.bindings.${queue}`;
  }

  taking(consumerId: string): string {
    return `${this.prefix}_celeryts.taking.${consumerId}`;
  }

  /** The channel a fanout publish goes to (kombu with fanout_patterns: the key is part of it). */
  fanoutChannel(exchange: string, routingKey: string): string {
    return routingKey ? `${this.fanoutPrefix}${exchange}/${routingKey}` : `${this.fanoutPrefix}${exchange}`;
  }

  /** The pattern a queue bound with `key` subscribes to (kombu turns `#` into the glob `*`). */
  fanoutPattern(exchange: string, key: string): string {
    return this.fanoutChannel(exchange, key.replaceAll('#', '*'));
  }

  /** The exchange a fanout channel belongs to (undefined for other channels). */
  exchangeOfChannel(channel: string): string | undefined {
    if (!channel.startsWith(this.fanoutPrefix)) return undefined;
    const rest = channel.slice(this.fanoutPrefix.length);
    const slash = rest.indexOf('/');
    return slash < 0 ? rest : rest.slice(0, slash);
  }
}

/** A binding member of `_kombu.binding.<exchange>`. */
export function bindingMember(routingKey: string, pattern: string, queue: string): string {
  return [routingKey, pattern, queue].join(SEP);
}

/** Split a binding member; undefined for members that are not kombu's shape. */
export function parseBindingMember(member: string): { key: string; pattern: string; queue: string } | undefined {
  const parts = member.split(SEP);
  if (parts.length !== 3) return undefined;
  const [key, pattern, queue] = parts as [string, string, string];
  return { key, pattern, queue };
}

/**
 * kombu's regex for a topic binding key (TopicExchange.key_to_pattern), stored in the binding
 * member so Python publishers route to queues celeryts bound: `*` -> `.*?[^\.]`, `#` -> `.*?`,
 * every other character that is not a letter or digit escaped (kombu's escape_regex), words joined by `\.`.
 */
export function kombuTopicPattern(key: string): string {
  let escaped = '';
  for (const c of key) escaped += /[\p{L}\p{N}]/u.test(c) || c === '.' || c === '#' || c === '*' ? c : c === '\0' ? '\\000' : `\\${c}`;
  const words = escaped.split('.').map((w) => (w === '*' ? '.*?[^\\.]' : w === '#' ? '.*?' : w));
  return `^${words.join('\\.')}$`;
}
