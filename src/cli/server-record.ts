// What the offline commands know about the server that runs on the same data dir: the address it was
// last reached at (recorded at each start), and an admin to name in the banner's examples.
import type { Db } from "../db/client.ts";

const URL_KEY = "server.url";

/** Recorded by `serve` at each start (AGENTVINE_PUBLIC_URL when set, else the address it listens on). */
export function recordServerUrl(db: Db, url: string, now = Date.now()): void {
  db.sqlite
    .query(
      "INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, NULL, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .run(URL_KEY, JSON.stringify(url), now);
}

/** The address the server on this data dir was last started at, if it ever was. */
export function recordedServerUrl(db: Db): string | null {
  const row = db.sqlite.query<{ value: string }, [string]>("SELECT value FROM settings WHERE key = ?").get(URL_KEY);
  if (!row) return null;
  try {
    const url = JSON.parse(row.value) as unknown;
    return typeof url === "string" ? url : null;
  } catch {
    return null;
  }
}

/** The username of the oldest active admin, or null when there is none (no account yet). */
export function firstAdmin(db: Db): string | null {
  return (
    db.sqlite
      .query<{ username: string }, []>("SELECT username FROM users WHERE role = 'admin' AND is_active = 1 ORDER BY created_at, id LIMIT 1")
      .get()?.username ?? null
  );
}
