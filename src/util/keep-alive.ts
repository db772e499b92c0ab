/**
 * Keeps the process alive while celeryts has work in flight, and only then. Broker connections
 * are unref'd, so an idle client lets a script end at its last line as a Python script does;
 * whatever waits on the network (a publish, a declaration, a result wait, a task consumer)
 * holds the process until it settles.
 */

let holds = 0;
let anchor: NodeJS.Timeout | undefined;

/** Keep the event loop alive until the returned release is called (idempotent). */
export function holdProcess(): () => void {
  if (holds++ === 0) anchor = setInterval(() => {}, 2 ** 30);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holds === 0) {
      clearInterval(anchor);
      anchor = undefined;
    }
  };
}

/** Run `work`, keeping the process alive until it settles. */
export async function whileHolding<T>(work: () => Promise<T>): Promise<T> {
  const release = holdProcess();
  try {
    return await work();
  } finally {
    release();
  }
}
