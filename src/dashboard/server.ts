/**
 * The dashboard's HTTP server (node:http: a dozen routes need no framework). Every request goes
 * through the same gate, in this order:
 *
 *   Host check (no credentials configured: only loopback host names, against DNS rebinding)
 *   open: /healthcheck, /static/*, /login          ─▶ answered
 *   credentials (header, cookie, or ?token= once)  ─▶ 401 (Basic challenge, or the login page)
 *   POST: same-origin only, and never in read-only ─▶ 403
 *   /events (SSE), /metrics, /api/*, / (the page)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isApiPath, route, type ApiContext } from './api.js';
import type { Auth } from './auth.js';
import { HttpError, parseRequest, SECURITY_HEADERS, sendJson, sendText, type Request } from './http-util.js';
import type { SseHub } from './sse.js';
import type { StaticFile } from './static-files.js';

/** What the server needs besides the API context. */
export interface ServerContext extends ApiContext {
  auth: Auth;
  hub: SseHub;
  files: Map<string, StaticFile>;
  /** Log a request that failed on our side. */
  onError: (err: unknown, path: string) => void;
  /** Remove secrets (the broker password) from text that leaves the server. */
  redact: (text: string) => string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostName(req: IncomingMessage): string {
  const host = req.headers.host ?? '';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
}

/** A POST from a page of another site (CSRF) carries an Origin that is not ours. */
function crossOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return origin === 'null';
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

function sendFile(res: ServerResponse, file: StaticFile | undefined, extra: Record<string, string> = {}): void {
  if (!file) return sendText(res, 404, 'Not found');
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file.type, 'cache-control': 'no-cache', ...extra });
  res.end(file.body);
}

function unauthorized(ctx: ServerContext, method: string, path: string, res: ServerResponse): void {
  const challenge: Record<string, string> = ctx.auth.basic ? { 'www-authenticate': 'Basic realm="celeryts dashboard", charset="UTF-8"' } : {};
  if (method === 'GET' && !ctx.auth.basic && (path === '/' || path === '/index.html')) {
    res.writeHead(302, { ...SECURITY_HEADERS, location: '/login' });
    return void res.end();
  }
  sendText(res, 401, 'Unauthorized: this dashboard requires credentials (basic auth or a bearer token)', challenge);
}

/** POST /login with token=... (the login page's form). */
function login(ctx: ServerContext, req: Request, res: ServerResponse): void {
  if (ctx.auth.tokenMatches(req.args.get('token'))) {
    res.writeHead(303, { ...SECURITY_HEADERS, location: '/', 'set-cookie': ctx.auth.sessionCookie() });
    return void res.end();
  }
  res.writeHead(303, { ...SECURITY_HEADERS, location: '/login?failed=1' });
  res.end();
}

async function handle(ctx: ServerContext, raw: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!ctx.auth.enabled && !LOOPBACK_HOSTS.has(hostName(raw))) return sendText(res, 403, 'Forbidden: unexpected Host header');
  // Credentials are checked before any body is read: strangers cannot make us buffer anything.
  const url = new URL(raw.url ?? '/', 'http://dashboard.invalid');
  const method = raw.method ?? 'GET';
  const path = url.pathname;
  if (path === '/healthcheck') return sendText(res, 200, 'OK');
  if (path === '/favicon.ico') return sendFile(res, ctx.files.get('favicon.svg'));
  if (path.startsWith('/static/')) return sendFile(res, ctx.files.get(path.slice('/static/'.length)));
  if (path === '/login') {
    if (method === 'POST') return crossOrigin(raw) ? sendText(res, 403, 'Forbidden: cross-origin request') : login(ctx, await parseRequest(raw), res);
    return sendFile(res, ctx.files.get('login.html'));
  }
  let authed = ctx.auth.check(raw);
  // `/?token=...` once, from a link an operator was given: becomes a cookie, and leaves the URL.
  if (!authed && method === 'GET' && ctx.auth.tokenMatches(url.searchParams.get('token'))) {
    authed = true;
    res.setHeader('set-cookie', ctx.auth.sessionCookie());
    if (!isApiPath(path) && path !== '/metrics' && path !== '/events') {
      res.writeHead(303, { ...SECURITY_HEADERS, location: path });
      return void res.end();
    }
  }
  if (!authed) return unauthorized(ctx, method, path, res);
  if (method === 'POST') {
    if (crossOrigin(raw)) return sendText(res, 403, 'Forbidden: cross-origin request');
    if (ctx.readOnly) return sendText(res, 403, 'Forbidden: the dashboard is read-only');
  }
  if (path === '/events') return ctx.hub.open(res, [['snapshot', { ...ctx.state.snapshot(), ...ctx.info, readOnly: ctx.readOnly }]]);
  if (path === '/metrics') return sendText(res, 200, ctx.state.metrics.render(), { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  if (isApiPath(path)) {
    const req = await parseRequest(raw);
    const found = route(req);
    if (!found) return sendText(res, 404, `Not found: ${req.method} ${path}`);
    const answer = await found.handler(ctx, req, found.param);
    if ('text' in answer) return sendText(res, answer.status, answer.text);
    return sendJson(res, answer.status ?? 200, answer.json);
  }
  if (method === 'GET' && !path.includes('.')) return sendFile(res, ctx.files.get('index.html'));
  sendText(res, 404, 'Not found');
}

/** Make the server (not yet listening). */
export function createDashboardServer(ctx: ServerContext): Server {
  return createServer((req, res) => {
    handle(ctx, req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return sendText(res, err.status, err.message);
      ctx.onError(err, req.url ?? '');
      if (!res.headersSent) sendText(res, 500, ctx.redact(`Internal error: ${(err as Error)?.message ?? String(err)}`));
      else res.end();
    });
  });
}
