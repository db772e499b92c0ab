import { hostname } from 'node:os';

/** Expand Celery's node name templates: %h host name, %n short host, %d domain, %i pid. */
export function expandNodeName(template: string, host = hostname()): string {
  const [short, ...domain] = host.split('.');
  const name = template
    .replace(/%h/g, host)
    .replace(/%n/g, short ?? host)
    .replace(/%d/g, domain.join('.'))
    .replace(/%i/g, String(process.pid));
  return name.includes('@') ? name : `${name}@${host}`;
}
