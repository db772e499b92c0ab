import Module, { createRequire } from 'node:module';
import { transformSync } from 'esbuild';
import fs from 'node:fs';
Module._extensions['.ts'] = (m, filename) => {
  let code = fs.readFileSync(filename, 'utf8').replace("'./h.js'", "'./h.ts'");
  code = transformSync(code, { loader: 'ts', format: 'cjs', define: {'import.meta.url': JSON.stringify('file://' + filename)} }).code;
  m._compile(code, filename);
};
const c = await import('celeryts');
const require = createRequire(import.meta.url);
const m = require('./p/t2.ts');
console.log(m.add instanceof c.Task, m.add.definingFile, m.where, m.add.run ? 'run' : '');
