/** Exceptions on the wire: Celery's {exc_type, exc_message, exc_module}. */

/** The `result` of a FAILURE, as Celery serialises exceptions. */
export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string | null;
}

/** Turn a thrown value into Celery's exception shape. */
export function serializeError(err: unknown): ExceptionInfo {
  if (err instanceof Error) {
    // Errors may say how Python should see them (excType/excModule/excArgs), e.g. NotRegistered.
    const e = err as Error & { excType?: unknown; excModule?: unknown; excArgs?: unknown };
    const module = e.excModule;
    return {
      exc_type: typeof e.excType === 'string' ? e.excType : err.name || 'Error',
      exc_message: Array.isArray(e.excArgs) ? e.excArgs : [err.message],
      exc_module: typeof module === 'string' ? module : 'builtins',
    };
  }
  return { exc_type: 'Error', exc_message: [String(err)], exc_module: 'builtins' };
}
