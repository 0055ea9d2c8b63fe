// What a worker key is trusted with, granted by the admin who creates it: the capabilities its workers may
// declare, and how many tasks they may hold at once (all of its workers together). A worker declaring more
// is refused at registration, and claims never go past either.
import { z } from "zod";
import type { Db } from "../../db/client.ts";
import { AppError } from "../../errors.ts";

export interface WorkerGrants {
  capabilities: string[];
  max_concurrent_tasks: number;
}

/** A worker key created without grants: no capabilities, 8 tasks at once. */
export const DEFAULT_WORKER_GRANTS: WorkerGrants = { capabilities: [], max_concurrent_tasks: 8 };

export const WorkerGrantsFields = {
  capabilities: z
    .array(z.string().trim().min(1).max(100))
    .max(100)
    .optional()
    .describe("worker keys: capabilities its workers may declare (default none); a worker declaring another is refused"),
  max_concurrent_tasks: z
    .number()
    .int()
    .min(1)
    .max(1024)
    .optional()
    .describe("worker keys: tasks its workers may hold at once, all together (default 8)"),
};

export const WorkerGrantsOut = z.object({ capabilities: z.array(z.string()), max_concurrent_tasks: z.number() }).nullable();

export function parseGrants(text: string | null): WorkerGrants | null {
  if (!text) return null;
  const g = JSON.parse(text) as Partial<WorkerGrants>;
  return { capabilities: Array.isArray(g.capabilities) ? g.capabilities.filter((c) => typeof c === "string") : [], max_concurrent_tasks: Number(g.max_concurrent_tasks) || 0 };
}

/** The grants of key `keyId` (a worker key); null for a key without grants (not a worker key) or no key. */
export function grantsOf(db: Db, keyId: string | null): WorkerGrants | null {
  if (keyId === null) return null;
  const row = db.sqlite.query<{ grants: string | null; scope: string }, [string]>("SELECT grants, scope FROM api_keys WHERE id = ?").get(keyId);
  if (!row || row.scope !== "worker") return null;
  return parseGrants(row.grants) ?? DEFAULT_WORKER_GRANTS;
}

/** 403 naming the grant when a worker declares more than its key was granted. */
export function assertWithinGrants(grants: WorkerGrants, declared: { capabilities: string[]; max_concurrent_tasks: number }): void {
  const extra = declared.capabilities.filter((c) => !grants.capabilities.includes(c));
  const granted = `this worker key was granted capabilities [${grants.capabilities.join(", ")}] and ${grants.max_concurrent_tasks} task(s) at once (an admin sets them when creating the key)`;
  if (extra.length) {
    throw new AppError(403, "forbidden", `capabilit${extra.length > 1 ? "ies" : "y"} ${extra.map((c) => `'${c}'`).join(", ")} not granted: ${granted}`, [
      { field: "capabilities", message: `not granted to this key: ${extra.join(", ")}` },
    ]);
  }
  if (declared.max_concurrent_tasks > grants.max_concurrent_tasks) {
    throw new AppError(403, "forbidden", `max_concurrent_tasks ${declared.max_concurrent_tasks} is more than granted: ${granted}`, [
      { field: "max_concurrent_tasks", message: `at most ${grants.max_concurrent_tasks} for this key` },
    ]);
  }
}
