/**
 * A stand-in for a database driver: connecting is slow and counted, so the example can show
 * (and the tests can check) that a Task base class opens one connection for many calls.
 */
export interface Connection {
  query(sql: string): Promise<{ sql: string; connection: number }>;
}

let opened = 0;

/** How many connections have been opened in this process. */
export function connectionsOpened(): number {
  return opened;
}

/** Open a connection (pretend). */
export async function connect(): Promise<Connection> {
  const id = ++opened;
  await new Promise((r) => setTimeout(r, 5));
  return { query: async (sql) => ({ sql, connection: id }) };
}
