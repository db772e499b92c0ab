/** Print control replies the way `celery inspect` does, one block per node. */
export function formatReplies(method: string, replies: Record<string, unknown>): string {
  const nodes = Object.keys(replies).sort();
  const out: string[] = [];
  for (const node of nodes) {
    const answer = replies[node];
    const failed = answer !== null && typeof answer === 'object' && !Array.isArray(answer) && 'error' in answer;
    out.push(`->  ${node}: ${failed ? 'ERROR' : 'OK'}`);
    out.push(formatAnswer(method, answer));
  }
  out.push('', `${nodes.length} node${nodes.length === 1 ? '' : 's'} online.`);
  return out.join('\n');
}

function indent(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

function formatAnswer(method: string, answer: unknown): string {
  if (answer !== null && typeof answer === 'object' && !Array.isArray(answer)) {
    const a = answer as Record<string, unknown>;
    if (Object.keys(a).length === 1 && typeof a['ok'] === 'string') return indent(a['ok'], 8);
    if (Object.keys(a).length === 1 && typeof a['error'] === 'string') return indent(a['error'], 8);
  }
  if (Array.isArray(answer)) {
    if (answer.length === 0) return '    - empty -';
    if (answer.every((x) => typeof x === 'string')) return answer.map((x) => `    * ${x}`).join('\n');
    return answer.map((x) => indent(`* ${JSON.stringify(x)}`, 4)).join('\n');
  }
  void method;
  return indent(JSON.stringify(answer, null, 4), 4);
}
