/**
 * Logging for trouble that repeats: the first occurrence of a condition is logged with its error,
 * later ones are only counted and summed up once per window ("... 1,499 more times in 5 s"), so a
 * broker folder turned read-only or a Redis restart gives a few lines, not one per message.
 */

/** The logger shape brokers are given (pino-compatible). */
export interface BrokerLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const WINDOW_MS = 5000;

/** Rate-limited reports of named conditions. */
export class ProblemLog {
  readonly #counts = new Map<string, { n: number; msg: string }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: BrokerLogger | undefined,
    private readonly context: object,
  ) {}

  /**
   * Report `err` under `condition` (a short stable phrase: "ack failed", "take failed"). Logged
   * at once the first time in a window; counted and summarised after that.
   */
  report(condition: string, err: unknown): void {
    const seen = this.#counts.get(condition);
    if (seen) {
      seen.n++;
      return;
    }
    this.#counts.set(condition, { n: 0, msg: errorText(err) });
    this.#log('warn', { ...this.context, err: errorText(err), condition }, `broker: ${condition}: ${errorText(err)}`);
    this.#timer ??= setTimeout(() => this.#flush(), WINDOW_MS).unref();
  }

  /** Log the pending summaries now (close). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#flush();
  }

  #flush(): void {
    this.#timer = undefined;
    for (const [condition, { n, msg }] of this.#counts) {
      if (n > 0)
        this.#log(
          'warn',
          { ...this.context, condition, repeated: n },
          `broker: ${condition} ${n} more time(s) in the last ${WINDOW_MS / 1000} s (last: ${msg})`,
        );
    }
    this.#counts.clear();
  }

  #log(level: 'warn', obj: object, msg: string): void {
    if (this.logger) this.logger[level](obj, msg);
    else process.emitWarning(msg);
  }
}

/** A one-line description of any thrown value. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
