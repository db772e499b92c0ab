import { defineConfig } from 'celeryts';

// The bench's worker config: bench/tasks.ts (tasks named explicitly: bench.noop, bench.mark).
// The broker URL comes from the bench's --broker flag.
// Results stored by the e2e-redis run live 10 minutes.
export default defineConfig({ root: '.', imports: ['tasks'], resultExpires: 600 });
