#!/usr/bin/env node
// Runs the compiled CLI: no TypeScript compilation at start-up (tsx loads only user modules).
// A worker's heap caps go first: importing the CLI would grow V8's young generation past them.
import { sizeWorkerHeapEarly } from '../dist/cli/worker-heap.js';

sizeWorkerHeapEarly();
await import('../dist/cli/main.js');
