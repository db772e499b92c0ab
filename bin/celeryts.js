#!/usr/bin/env node
// Runs the compiled CLI: no TypeScript compilation at start-up (tsx loads only user modules).
import '../dist/cli/main.js';
