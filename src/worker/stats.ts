import { cpuUsage, memoryUsage, resourceUsage } from 'node:process';

/** Counters a worker reports through `inspect stats`. */
export class WorkerStats {
  readonly startedAt = Date.now();
  /** Processed totals per task name. */
  readonly total: Record<string, number> = {};
  /** Rejected messages per reason (malformed, unknown task, content type...). */
  readonly rejected: Record<string, number> = {};
  processed = 0;

  countProcessed(task: string): void {
    this.total[task] = (this.total[task] ?? 0) + 1;
    this.processed++;
  }

  countRejected(reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  /** Uptime in whole seconds. */
  uptime(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }

  /** getrusage() in the shape Celery reports. */
  static rusage(): Record<string, number> {
    const r = resourceUsage();
    const c = cpuUsage();
    return {
      utime: c.user / 1e6,
      stime: c.system / 1e6,
      maxrss: r.maxRSS,
      ixrss: r.sharedMemorySize,
      idrss: r.unsharedDataSize,
      isrss: r.unsharedStackSize,
      minflt: r.minorPageFault,
      majflt: r.majorPageFault,
      nswap: r.swappedOut,
      inblock: r.fsRead,
      oublock: r.fsWrite,
      msgsnd: r.ipcSent,
      msgrcv: r.ipcReceived,
      nsignals: r.signalsCount,
      nvcsw: r.voluntaryContextSwitches,
      nivcsw: r.involuntaryContextSwitches,
      rss_bytes: memoryUsage.rss(),
    };
  }
}
