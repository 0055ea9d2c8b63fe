// Bulk actions on tasks: cancel, retry or delete the ones picked (ids) or every one a filter matches
// ("retry all failed"). Each task goes through the same service call as alone — audited, in its own
// transaction — and one that its state does not allow is skipped with the reason, not an error for all.
import { z } from "zod";
import { TASK_STATUSES, PRIORITIES } from "../../db/schema.ts";
import type { EngineDeps } from "../../engine/engine-deps.ts";
import { AppError } from "../../errors.ts";
import type { Acting } from "../audit/service.ts";
import { cancelTaskAs, deleteTask, listTasks, retryTaskAs } from "./service.ts";

export const BULK_ACTIONS = ["cancel", "retry", "delete"] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** How many tasks one bulk action may touch: a filter matching more is refused (narrow it). */
export const BULK_MAX = 10_000;

const moment = z.union([z.iso.datetime({ offset: true }), z.iso.date()], "expected an ISO-8601 time or a date");

export const BulkFilter = z.strictObject({
  status: z.array(z.enum(TASK_STATUSES)).min(1).max(TASK_STATUSES.length).optional(),
  task_type: z.string().min(1).max(100).optional(),
  priority: z.enum(PRIORITIES).optional(),
  q: z.string().min(1).max(200).optional(),
  parent_task_id: z.string().min(1).max(100).optional(),
  created_after: moment.optional(),
  created_before: moment.optional(),
});
export type BulkFilter = z.infer<typeof BulkFilter>;

export const BulkBody = z
  .strictObject({
    action: z.enum(BULK_ACTIONS).describe("cancel, retry or delete"),
    ids: z.array(z.string().min(1).max(100)).min(1).max(1000).optional().describe("The tasks, by id"),
    filter: BulkFilter.optional().describe("Every task matching, as GET /tasks filters (status as a list): e.g. {\"status\": [\"failed\"]} to retry all failed"),
  })
  .refine((b) => (b.ids === undefined) !== (b.filter === undefined), { message: "give either ids or filter (not both)", path: ["ids"] });
export type BulkBody = z.infer<typeof BulkBody>;

export const BulkOut = z.object({
  action: z.enum(BULK_ACTIONS),
  matched: z.number().describe("Tasks named or matched"),
  done: z.number().describe("Tasks the action was applied to"),
  skipped: z.array(z.object({ id: z.string(), reason: z.string() })).describe("Those it could not apply to (the first 100), with why"),
  skipped_total: z.number(),
});
export type BulkResult = z.infer<typeof BulkOut>;

function matching(deps: EngineDeps, filter: BulkFilter): string[] {
  const ids: string[] = [];
  for (let page = 1; ; page++) {
    const batch = listTasks(deps, { ...filter, page, per_page: 100, sort: "created_at" });
    if (batch.total > BULK_MAX) {
      throw new AppError(400, "validation_failed", `the filter matches ${batch.total} tasks; one bulk action takes at most ${BULK_MAX}: narrow it`, [
        { field: "filter", message: `matches ${batch.total} tasks (at most ${BULK_MAX})` },
      ]);
    }
    ids.push(...batch.items.map((t) => t.id));
    if (batch.items.length < 100) return ids;
  }
}

export function bulkTasks(deps: EngineDeps, body: BulkBody, acting?: Acting): BulkResult {
  // A filter is resolved once, first: retrying a failed task must not make it match again, nor deleting shift pages.
  const ids = body.ids ? [...new Set(body.ids)] : matching(deps, body.filter!);
  const skipped: BulkResult["skipped"] = [];
  let done = 0;
  for (const id of ids) {
    try {
      if (body.action === "cancel") cancelTaskAs(deps, id, acting);
      else if (body.action === "retry") retryTaskAs(deps, id, acting);
      else deleteTask(deps, id, acting);
      done++;
    } catch (err) {
      // The state does not allow it (finished, running, gone with its parent): skipped, with the reason.
      if (!(err instanceof AppError) || (err.status !== 404 && err.status !== 409)) throw err;
      skipped.push({ id, reason: err.message });
    }
  }
  return { action: body.action, matched: ids.length, done, skipped: skipped.slice(0, 100), skipped_total: skipped.length };
}
