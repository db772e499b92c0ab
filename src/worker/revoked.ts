/** Revoked task ids, bounded like Celery's (oldest forgotten first) so memory stays flat. */
export class RevokedSet {
  readonly #ids = new Set<string>();
  constructor(private readonly max = 50_000) {}

  add(id: string): void {
    this.#ids.delete(id);
    this.#ids.add(id);
    if (this.#ids.size > this.max) this.#ids.delete(this.#ids.values().next().value as string);
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  list(): string[] {
    return [...this.#ids];
  }
}
