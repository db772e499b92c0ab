import type { ResultBackend, TaskCallRouting } from '../core/backend.js';
import type { AsyncResult } from '../core/result.js';
import { UnavailableAsyncResult, unreadableSource, type ResultSource } from './async-result.js';

const reason = (id: string) => `no result backend is configured (resultBackend: 'none'); the result of ${id} is not kept`;

/** No result backend: nothing is stored; waiting fails at once with a clear error. */
export class NoneBackend implements ResultBackend {
  readonly name = 'none';
  readonly storesById = false;
  readonly #source: ResultSource;
  constructor(revoke: ResultSource['revoke']) {
    this.#source = unreadableSource(revoke, reason);
  }
  markState(): undefined {
    return undefined;
  }
  async onTaskCall(): Promise<TaskCallRouting> {
    return {};
  }
  track<R>(taskId: string): AsyncResult<R> {
    return new UnavailableAsyncResult<R>(taskId, reason(taskId), this.#source);
  }
  async lookup<R>(taskId: string): Promise<AsyncResult<R>> {
    return this.track<R>(taskId);
  }
  async close(): Promise<void> {}
}
