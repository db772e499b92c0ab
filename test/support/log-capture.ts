/** pino JSON lines captured in memory, for tests that assert on logs (no build needed). */
import { Writable } from 'node:stream';
import pino from 'pino';

/** Captured pino JSON lines. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      for (const l of chunk.toString().split('\n').filter(Boolean)) this.lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  logger(level = 'info') {
    return pino({ level }, this.stream);
  }
  find(re: RegExp): Record<string, unknown> | undefined {
    return this.lines.find((l) => re.test(String(l['msg'])));
  }
}
