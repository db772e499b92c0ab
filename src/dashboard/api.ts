/**
 * The JSON API, shaped like Flower 2's where they overlap (paths, arguments, answers, status
 * codes), so scripts written against Flower work against `celeryts dashboard`:
 *
 *   GET  /api/workers[?refresh=1][&workername=W][&status=1]   GET /api/tasks[?limit&offset&state&taskname&workername&received_start&received_end&sort_by&search]
 *   GET  /api/task/info/<id>   GET /api/task/result/<id>[?timeout=S]   GET /api/task/types   GET /api/queues/length
 *   POST /api/task/send-task/<name> (also async-apply)   POST /api/task/revoke/<id>[?terminate=true&signal=SIGTERM]
 *   POST /api/task/rate-limit/<name> ratelimit=&workername=   POST /api/task/timeout/<name> soft=&hard=&workername=
 *   POST /api/worker/shutdown/<w>   POST /api/worker/pool/{grow,shrink}/<w>?n=   POST /api/worker/pool/autoscale/<w>?min=&max=
 *   POST /api/worker/pool/restart/<w>   POST /api/worker/queue/{add,cancel}-consumer/<w>?queue=
 *
 * Plus what the page uses: GET /api/dashboard (the snapshot pages start from).
 * POSTs are refused (403) in read-only mode.
 */
import type { App } from '../app.js';
import type { ActionResult, ControlActions } from './control-actions.js';
import { boolArg, HttpError, intArg, stringArg, type Request } from './http-util.js';
import type { Inspector } from './inspector.js';
import type { LiveState } from './live-state.js';
import { backendStoresResults, lookupResult } from './result-lookup.js';
import { flowerTask } from './task-store.js';

/** What a handler answers: JSON, or text with a status (Flower's failures are text). */
export type ApiAnswer = { status?: number; json: unknown } | { status: number; text: string };

/** What the API reads and drives. */
export interface ApiContext {
  app: App;
  state: LiveState;
  actions: ControlActions;
  inspector: Inspector;
  readOnly: boolean;
  /** Extra facts for the snapshot (broker display URL, options). */
  info: Record<string, unknown>;
}

type Handler = (ctx: ApiContext, req: Request, param: string) => Promise<ApiAnswer> | ApiAnswer;

/** Flower's `received_start` format is 'YYYY-MM-DD HH:MM' (local time); ISO and epoch seconds work too. */
function timeArg(v: string | null): number | undefined {
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const ms = Date.parse(v.replace(' ', 'T'));
  if (Number.isNaN(ms)) throw new HttpError(400, `invalid time '${v}'`);
  return ms / 1000;
}

/** 'All' means no filter in Flower's page and API. */
const filter = (v: string | null): string | undefined => (v && v !== 'All' ? v : undefined);

const answer = (r: ActionResult): ApiAnswer => ('ok' in r ? { json: { message: r.ok } } : { status: r.status, text: r.error });

const GET: Record<string, Handler> = {
  '/api/dashboard': (ctx) => ({ json: { ...ctx.state.snapshot(), ...ctx.info, readOnly: ctx.readOnly } }),
  '/api/workers': async (ctx, req) => {
    const worker = req.args.get('workername') ?? undefined;
    if (boolArg(req.args, 'refresh')) await ctx.inspector.refresh(worker);
    if (boolArg(req.args, 'status')) return { json: ctx.state.workers.alive() };
    if (worker && !ctx.state.workers.has(worker)) throw new HttpError(404, `Unknown worker '${worker}'`);
    return { json: ctx.state.workers.inspectReplies(worker) };
  },
  '/api/tasks': (ctx, req) => {
    const limit = req.args.get('limit');
    const tasks = ctx.state.tasks.query({
      limit: limit ? intArg(req.args, 'limit') : undefined,
      offset: Math.max(0, intArg(req.args, 'offset', 0)),
      state: filter(req.args.get('state')),
      taskname: filter(req.args.get('taskname')),
      workername: filter(req.args.get('workername')),
      receivedStart: timeArg(req.args.get('received_start')),
      receivedEnd: timeArg(req.args.get('received_end')),
      sortBy: req.args.get('sort_by') ?? undefined,
      search: req.args.get('search') ?? undefined,
    });
    return { json: Object.fromEntries(tasks.map((t) => [t.uuid, flowerTask(t)])) };
  },
  '/api/task/types': (ctx) => ({ json: { 'task-types': [...ctx.state.tasks.names].sort() } }),
  '/api/queues/length': (ctx) => ({ json: { active_queues: ctx.state.queues.map(({ name, messages }) => ({ name, messages })) } }),
};

const GET_PREFIX: Record<string, Handler> = {
  '/api/task/info/': (ctx, _req, id) => {
    const t = ctx.state.tasks.get(id);
    if (!t) throw new HttpError(404, `Unknown task '${id}'`);
    return { json: t };
  },
  '/api/task/result/': async (ctx, req, id) => {
    if (!(await backendStoresResults(ctx.app))) throw new HttpError(503, 'the result backend does not store results by id (rpc:// or none)');
    const timeout = req.args.get('timeout');
    return { json: await lookupResult(ctx.app, id, timeout ? Number(timeout) : 0) };
  },
};

/** send-task's body: {args, kwargs, ...options}; options in Flower's (Python) names. */
async function sendTask(ctx: ApiContext, req: Request, name: string): Promise<ApiAnswer> {
  const body = (req.json ?? {}) as Record<string, unknown>;
  if (typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'invalid options');
  const { args = [], kwargs = {}, countdown, eta, expires, queue, priority, task_id: taskId, exchange, routing_key: routingKey } = body;
  if (!Array.isArray(args)) throw new HttpError(400, 'args must be an array');
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new HttpError(400, 'kwargs must be an object');
  const options: Record<string, unknown> = { countdown, eta, expires, queue, priority, taskId, exchange, routingKey };
  for (const k of Object.keys(options)) if (options[k] === undefined || options[k] === null) delete options[k];
  const result = await ctx.app.sendTask(name, args, kwargs as Record<string, unknown>, options);
  const json: Record<string, unknown> = { 'task-id': result.id };
  if (ctx.app.config.resultBackend !== 'none') json['state'] = result.state;
  return { json };
}

const POST_PREFIX: Record<string, Handler> = {
  '/api/task/send-task/': sendTask,
  '/api/task/async-apply/': sendTask,
  '/api/task/revoke/': async (ctx, req, id) => answer(await ctx.actions.revoke(id, boolArg(req.args, 'terminate'), req.args.get('signal') ?? 'SIGTERM')),
  '/api/task/rate-limit/': async (ctx, req, name) =>
    answer(await ctx.actions.rateLimit(name, stringArg(req.args, 'ratelimit'), stringArg(req.args, 'workername'))),
  '/api/task/timeout/': async (ctx, req, name) => {
    const num = (k: string): number | null => (req.args.get(k) ? Number(req.args.get(k)) : null);
    return answer(await ctx.actions.timeLimit(name, stringArg(req.args, 'workername'), num('soft'), num('hard')));
  },
  '/api/worker/shutdown/': async (ctx, _req, w) => answer(await ctx.actions.shutdown(w)),
  '/api/worker/pool/grow/': async (ctx, req, w) => afterAction(ctx, w, await ctx.actions.poolGrow(w, intArg(req.args, 'n', 1))),
  '/api/worker/pool/shrink/': async (ctx, req, w) => afterAction(ctx, w, await ctx.actions.poolShrink(w, intArg(req.args, 'n', 1))),
  '/api/worker/pool/autoscale/': async (ctx, req, w) => afterAction(ctx, w, await ctx.actions.autoscale(w, intArg(req.args, 'min'), intArg(req.args, 'max'))),
  '/api/worker/pool/restart/': async (ctx, _req, w) => afterAction(ctx, w, await ctx.actions.poolRestart(w)),
  '/api/worker/queue/add-consumer/': async (ctx, req, w) => afterAction(ctx, w, await ctx.actions.addConsumer(w, stringArg(req.args, 'queue'))),
  '/api/worker/queue/cancel-consumer/': async (ctx, req, w) => afterAction(ctx, w, await ctx.actions.cancelConsumer(w, stringArg(req.args, 'queue'))),
};

/** An action changed a worker: ask it again so the page shows the new pool or queues. */
function afterAction(ctx: ApiContext, worker: string, r: ActionResult): ApiAnswer {
  if ('ok' in r) void ctx.inspector.refresh(worker, ['stats', 'active_queues']);
  return answer(r);
}

/** Find the handler for a request; undefined when the path is not part of the API. */
export function route(req: Request): { handler: Handler; param: string } | undefined {
  const path = req.url.pathname;
  if (req.method === 'GET' || req.method === 'HEAD') {
    const exact = GET[path];
    if (exact) return { handler: exact, param: '' };
  }
  const table = req.method === 'POST' ? POST_PREFIX : req.method === 'GET' || req.method === 'HEAD' ? GET_PREFIX : {};
  for (const [prefix, handler] of Object.entries(table)) {
    if (path.startsWith(prefix) && path.length > prefix.length) return { handler, param: decodeURIComponent(path.slice(prefix.length)) };
  }
  return undefined;
}

/** Is this an API path (so a miss is 404/405 JSON rather than the page)? */
export const isApiPath = (path: string): boolean => path.startsWith('/api/');
