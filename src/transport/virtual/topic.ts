/**
 * AMQP topic matching: keys and patterns are dot-separated words; `*` matches exactly one word,
 * `#` zero or more. Dynamic programming over (pattern word, key word) rather than a regex, so
 * patterns with several `#` cannot backtrack exponentially and no escaping is needed.
 */

/** Whether routing key `key` matches binding pattern `pattern`. */
export function topicMatches(pattern: string, key: string): boolean {
  if (pattern === '#') return true;
  const p = pattern.split('.');
  const k = key.split('.');
  // row[j]: does p[i..] match k[j..]? Computed from the last pattern word backwards.
  let next: boolean[] = new Array<boolean>(k.length + 1).fill(false);
  next[k.length] = true;
  for (let i = p.length - 1; i >= 0; i--) {
    const word = p[i];
    const row: boolean[] = new Array<boolean>(k.length + 1).fill(false);
    for (let j = k.length; j >= 0; j--) {
      if (word === '#') row[j] = next[j] === true || (j < k.length && row[j + 1] === true);
      else row[j] = j < k.length && (word === '*' || word === k[j]) && next[j + 1] === true;
    }
    next = row;
  }
  return next[0] === true;
}
