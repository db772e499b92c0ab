import { resultsDisplay } from '../util/mask-url.js';
import os from 'node:os';
import type { Worker } from './worker.js';

/** Celery-style startup banner (printed when stdout is a terminal). */
export function bannerText(worker: Worker, version: string, brokerDisplay: string): string {
  const { config, registry } = worker.app;
  const when = new Date().toISOString().replace('T', ' ').slice(0, 19);
  const lines = [
    '',
    ` -------------- ${worker.nodeName} v${version} (celeryts)`,
    `--- ***** ----- `,
    `-- ******* ---- ${os.type()}-${os.release()}-${os.arch()} ${when}`,
    `- *** --- * --- `,
    `- ** ---------- [config]`,
    `- ** ---------- .> app:         ${config.configFile ?? '(no config file)'}`,
    `- ** ---------- .> transport:   ${brokerDisplay}`,
    `- ** ---------- .> results:     ${resultsDisplay(config.resultBackend)}`,
    `- *** --- * --- .> concurrency: ${config.autoscale ? `{min=${config.autoscale[1]}, max=${config.autoscale[0]}}` : config.concurrency} (${config.pool}), prefetch ${worker.prefetchCount}, acks ${config.acksLate ? 'late' : 'early'}`,
    `-- ******* ---- .> task events: ${config.sendEvents ? 'ON' : 'OFF (enable -E to monitor tasks in this worker)'}`,
    `--- ***** ----- .> rate limits: ${config.disableRateLimits ? 'disabled' : 'enabled'}`,
    `--- ***** ----- `,
    ` -------------- [queues]`,
    ...worker.queues.map((q) => `                .> ${q.padEnd(16)} exchange=${q}(direct) key=${q}`),
    '',
    '[tasks]',
    ...registry.names().map((n) => `  . ${n}`),
    '',
  ];
  return lines.join('\n');
}
