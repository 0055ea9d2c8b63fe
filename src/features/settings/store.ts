// Settings an admin changes in the UI (the model, budgets, the webhook): key → JSON value in the
// `settings` table, read over the configuration's defaults. A change is audited in its own transaction.
import type { Db } from "../../db/client.ts";
import { audited, type Acting } from "../audit/service.ts";

export interface SettingsDeps {
  db: Db;
  clock?: () => number;
}

export function readSetting<T>(deps: SettingsDeps, key: string): T | undefined {
  const row = deps.db.sqlite.query<{ value: string }, [string]>("SELECT value FROM settings WHERE key = ?").get(key);
  return row ? (JSON.parse(row.value) as T) : undefined;
}

/** Stores `value` under `key` (null removes it: the configuration's default applies again). */
export function writeSetting(deps: SettingsDeps, key: string, value: unknown, acting?: Acting, auditDetails?: Record<string, unknown>): void {
  const now = (deps.clock ?? Date.now)();
  deps.db.sqlite
    .transaction(() => {
      if (value === null) deps.db.sqlite.query("DELETE FROM settings WHERE key = ?").run(key);
      else {
        deps.db.sqlite
          .query("INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at")
          .run(key, JSON.stringify(value), acting?.userId ?? null, now);
      }
      audited(deps, acting, "settings.updated", { type: "settings", id: key }, auditDetails ?? {});
    })
    .immediate();
}
