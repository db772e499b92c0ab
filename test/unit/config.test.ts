import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load-config.js';
import { normalizeLogLevel } from '../../src/config/schema.js';
import { resolveModule } from '../../src/loader/resolve-module.js';
import { makeProject } from '../support/project.js';

describe('config discovery and precedence', () => {
  it('finds celeryts.config.ts (through tsx) and resolves root and a relative file broker against its folder', async () => {
    const dir = makeProject(
      { 'celeryts.config.ts': `const n: number = 3;\nexport default { root: 'src', concurrency: n, imports: ['x.tasks'] };\n`, 'src/deep/.keep': '' },
      { type: 'module' },
    );
    const c = await loadConfig({ cwd: path.join(dir, 'src', 'deep'), env: {} });
    assert.equal(c.configFile, path.join(dir, 'celeryts.config.ts'));
    assert.equal(c.root, path.join(dir, 'src'));
    assert.equal(c.concurrency, 3);
    assert.deepEqual(c.imports, ['x.tasks']);
    assert.equal(c.brokerUrl, `file://${path.join(dir, '.celeryts')}`, 'the same broker from any subfolder');
    assert.equal(c.prefetchMultiplier, 4);
    assert.equal(c.acksLate, false);
    assert.equal(c.defaultQueue, 'celery');
  });

  it('reads a "celeryts" key in package.json', async () => {
    const dir = makeProject({});
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'p', celeryts: { acksLate: true } }));
    const c = await loadConfig({ cwd: dir, env: {} });
    assert.equal(c.acksLate, true);
  });

  it('env overrides the file and flags override env', async () => {
    const dir = makeProject({ 'celeryts.config.json': JSON.stringify({ brokerUrl: 'amqp://file-host//', resultBackend: 'rpc://' }) });
    const env = { CELERYTS_BROKER_URL: 'amqp://env-host//', CELERYTS_RESULT_BACKEND: 'none' };
    const fromEnv = await loadConfig({ cwd: dir, env });
    assert.equal(fromEnv.brokerUrl, 'amqp://env-host//');
    assert.equal(fromEnv.resultBackend, 'none');
    const fromFlags = await loadConfig({ cwd: dir, env, overrides: { brokerUrl: 'amqp://flag-host//' } });
    assert.equal(fromFlags.brokerUrl, 'amqp://flag-host//');
  });

  it('defaults the worker heap caps (semi-spaces 4 MiB, old-space growth 50 %) and refuses bad ones', async () => {
    const dir = makeProject({ 'celeryts.config.json': JSON.stringify({ workerMaxSemiSpaceMb: -1 }) });
    await assert.rejects(loadConfig({ cwd: dir, env: {} }), /'workerMaxSemiSpaceMb' must be a whole number, 0 or more \(got -1\)/);
    assert.equal((await loadConfig({ cwd: makeProject({}), env: {} })).workerMaxSemiSpaceMb, 4);
    const growth = makeProject({ 'celeryts.config.json': JSON.stringify({ workerHeapGrowingPercent: 1.5 }) });
    await assert.rejects(loadConfig({ cwd: growth, env: {} }), /'workerHeapGrowingPercent' must be a whole number, 0 or more \(got 1.5\)/);
    assert.equal((await loadConfig({ cwd: makeProject({}), env: {} })).workerHeapGrowingPercent, 50);
  });

  it('result backends by URL: redis:// kept as given, expiry and extended defaults, an unknown scheme refused with its password masked', async () => {
    const dir = makeProject({});
    const c = await loadConfig({ cwd: dir, env: { CELERYTS_RESULT_BACKEND: 'redis://:pw@cache:6380/2' } });
    assert.equal(c.resultBackend, 'redis://:pw@cache:6380/2');
    assert.equal(c.resultExpires, 86_400, 'one day, as Celery');
    assert.equal(c.resultExtended, false);
    assert.equal((await loadConfig({ cwd: dir, env: {}, overrides: { resultBackend: 'rpc://' } })).resultBackend, 'rpc');
    assert.equal((await loadConfig({ cwd: dir, env: {}, overrides: { resultBackend: 'disabled' } })).resultBackend, 'none');
    const bad = loadConfig({ cwd: dir, env: { CELERYTS_RESULT_BACKEND: 'mysql://root:Secr3t@db/x' } });
    await assert.rejects(bad, (e: Error) => /'resultBackend' must be 'rpc:\/\/', 'redis:\/\/\.\.\.'/.test(e.message) && !e.message.includes('Secr3t'));
    await assert.rejects(loadConfig({ cwd: dir, env: {}, overrides: { resultExpires: -1 } }), /'resultExpires' must be a number of seconds, 0 or more/);
  });

  it('refuses a bad value in the environment, naming it', async () => {
    const dir = makeProject({});
    await assert.rejects(loadConfig({ cwd: dir, env: { CELERYTS_BROKER_URL: 'sqs://x' } }), /environment: 'brokerUrl' must start with amqp/);
  });
});

describe('config values a user gets wrong', () => {
  it("takes Celery's level names in any case, and pino's", async () => {
    assert.deepEqual(['WARNING', 'critical', 'Info', 'DEBUG', 'error', 'fatal', 'warn', 'trace', 'silent'].map(normalizeLogLevel), [
      'warn',
      'fatal',
      'info',
      'debug',
      'error',
      'fatal',
      'warn',
      'trace',
      'silent',
    ]);
    assert.equal(normalizeLogLevel('loud'), undefined);
    const dir = makeProject({ 'celeryts.config.json': JSON.stringify({ logLevel: 'WARNING' }) });
    assert.equal((await loadConfig({ cwd: dir, env: {} })).logLevel, 'warn');
    await assert.rejects(loadConfig({ cwd: dir, env: {}, overrides: { logLevel: 'loud' as 'info' } }), /'logLevel' must be one of/);
  });

  it('refuses a prefetch (concurrency x prefetchMultiplier) over 65535, the AMQP limit', async () => {
    const dir = makeProject({});
    await assert.rejects(
      loadConfig({ cwd: dir, env: {}, overrides: { concurrency: 8, prefetchMultiplier: 10_000 } }),
      /prefetch = concurrency x prefetchMultiplier = 8 x 10000 = 80000, over the broker limit of 65535/,
    );
    assert.equal((await loadConfig({ cwd: dir, env: {}, overrides: { concurrency: 1, prefetchMultiplier: 65_535 } })).prefetchMultiplier, 65_535);
  });

  it('never quotes a password back: a mistyped scheme, or a URL inside another value', async () => {
    const dir = makeProject({});
    const err = await loadConfig({ cwd: dir, env: { CELERYTS_BROKER_URL: 'ampq://user:S3cret@rabbit:5672//' } }).catch((e: Error) => e);
    assert.match(String(err), /must start with amqp:\/\/.* \(got "ampq:\/\/user:\*\*\*\*@rabbit:5672\/\/"\)/);
    assert.doesNotMatch(String(err), /S3cret/);
    const nested = await loadConfig({ cwd: dir, env: {}, overrides: { imports: 'amqp://u:Hidden@h' as unknown as string[] } }).catch((e: Error) => e);
    assert.doesNotMatch(String(nested), /Hidden/);
  });

  it('resolves a relative logFile against the config folder', async () => {
    const dir = makeProject({ 'celeryts.config.json': JSON.stringify({ logFile: 'logs/w.log' }) });
    assert.equal((await loadConfig({ cwd: dir, env: {} })).logFile, path.join(dir, 'logs/w.log'));
  });
});

describe('-A module resolution, as Python resolves import paths', () => {
  const dir = makeProject({
    'proj/tasks.ts': '',
    'proj/esm.mts': '',
    'proj/plain.js': '',
    'proj/pkg/index.ts': '',
  });
  it('finds .ts, .mts, .js and package index files under the root', () => {
    assert.equal(resolveModule('proj.tasks', dir), path.join(dir, 'proj/tasks.ts'));
    assert.equal(resolveModule('proj.esm', dir), path.join(dir, 'proj/esm.mts'));
    assert.equal(resolveModule('proj.plain', dir), path.join(dir, 'proj/plain.js'));
    assert.equal(resolveModule('proj.pkg', dir), path.join(dir, 'proj/pkg/index.ts'));
  });
  it('names what it tried when nothing matches', () => {
    assert.throws(() => resolveModule('proj.missing', dir), /cannot find task module 'proj\.missing'.*proj\/missing\.ts/);
  });
});
