/**
 * Small helpers over node:http: bodies with a size limit, Flower-style arguments (query string,
 * form or JSON body alike, as Tornado's get_argument reads them), JSON and text answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request bodies larger than this are refused (413). */
const MAX_BODY_BYTES = 1024 * 1024;

/** An HTTP error with a status, thrown by handlers and turned into an answer by the server. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Read the whole body (at most MAX_BODY_BYTES). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A parsed request: its URL and, for POSTs, its body as arguments and as JSON. */
export interface Request {
  method: string;
  url: URL;
  /** The JSON body when the body is JSON (send-task's {args, kwargs, ...}). */
  json: unknown;
  /** Query and form arguments. */
  args: URLSearchParams;
}

/** Parse the request's URL and body. */
export async function parseRequest(req: IncomingMessage): Promise<Request> {
  const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
  const args = new URLSearchParams(url.searchParams);
  let json: unknown;
  if (req.method === 'POST' || req.method === 'PUT') {
    const text = (await readBody(req)).toString('utf8');
    // Flower decodes a JSON body whatever its content type (curl -d sends it as a form).
    const looksJson = /^\s*[[{]/.test(text);
    const type = req.headers['content-type'] ?? '';
    if (!looksJson && type.includes('application/x-www-form-urlencoded')) for (const [k, v] of new URLSearchParams(text)) args.append(k, v);
    else if (text.trim()) {
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new HttpError(400, `invalid JSON body: ${(err as Error).message}`);
      }
    }
  }
  return { method: req.method ?? 'GET', url, json, args };
}

/** An integer argument, `fallback` when absent; 400 when not an integer. */
export function intArg(args: URLSearchParams, name: string, fallback?: number): number {
  const raw = args.get(name);
  if (raw === null || raw === '') {
    if (fallback === undefined) throw new HttpError(400, `Missing argument ${name}`);
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new HttpError(400, `Argument ${name} must be an integer`);
  return n;
}

/** A required string argument. */
export function stringArg(args: URLSearchParams, name: string): string {
  const v = args.get(name);
  if (!v) throw new HttpError(400, `Missing argument ${name}`);
  return v;
}

/** Tornado's bool argument: anything but '', 'false', '0', 'no' is true. */
export function boolArg(args: URLSearchParams, name: string): boolean {
  const v = args.get(name);
  return v !== null && !['', 'false', '0', 'no', 'off'].includes(v.toLowerCase());
}

/** Headers every answer carries: nothing cached, framed, sniffed or loaded from elsewhere. */
export const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
};

/** Answer with JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/** Answer with plain text (Flower's error bodies are text). */
export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}
