/** Calls to the dashboard's API (same origin; the session cookie or basic auth goes along). */
import { h } from './dom.js';

/** Show a short message in the corner. */
export function toast(text, error = false) {
  const el = h('div', { class: `toast${error ? ' error' : ''}`, role: 'status' }, text);
  document.getElementById('toasts').append(el);
  setTimeout(() => el.remove(), error ? 8000 : 4000);
}

/** GET JSON; throws with the server's text on failure. */
export async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) throw Object.assign(new Error((await res.text()) || res.statusText), { status: res.status });
  return res.json();
}

/** POST form arguments (Flower's API reads them like query arguments); toast the outcome. */
export async function post(path, args = {}, json) {
  const init = json
    ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) }
    : { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(args) };
  try {
    const res = await fetch(path, init);
    const text = await res.text();
    if (!res.ok) throw new Error(text || res.statusText);
    const body = text ? JSON.parse(text) : {};
    toast(body.message ?? 'Done');
    return body;
  } catch (err) {
    toast(err.message, true);
    return undefined;
  }
}
