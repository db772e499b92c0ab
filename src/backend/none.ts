import type { ResultBackend } from '../core/backend.js';
import type { AsyncResult } from '../core/result.js';
import { UnavailableAsyncResult } from './async-result.js';

/** No result backend: nothing is stored; waiting fails at once with a clear error. */
export class NoneBackend implements ResultBackend {
  readonly name = 'none';
  markState(): undefined {
    return undefined;
  }
  async replyTo(): Promise<string | undefined> {
    return undefined;
  }
  track<R>(taskId: string): AsyncResult<R> {
    return this.lookup(taskId);
  }
  lookup<R>(taskId: string): AsyncResult<R> {
    return new UnavailableAsyncResult<R>(taskId, `no result backend is configured (resultBackend: 'none'); the result of ${taskId} is not kept`);
  }
  async close(): Promise<void> {}
}
