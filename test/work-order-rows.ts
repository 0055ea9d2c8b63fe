// Reading work-order rows back in tests: the product reads them only through the engine's statements.
import type { Db } from "../src/db/client.ts";
import type { QueueName, WorkOrderStatus } from "../src/db/schema.ts";

export interface WorkOrderRecord {
  id: string;
  task_id: string | null;
  queue: QueueName;
  priority: number;
  status: WorkOrderStatus;
  payload: Record<string, unknown>;
  result: unknown;
  error: string | null;
  errors: unknown[];
  requires: string[];
  retry_count: number;
  max_retries: number;
  timeout_seconds: number;
  run_at: number;
  expires_at: number | null;
  claimed_by: string | null;
  claimed_at: number | null;
  lease_token: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export function getWorkOrder(db: Db, id: string): WorkOrderRecord | undefined {
  const row = db.sqlite.query<Record<string, any>, [string]>(`SELECT * FROM work_orders WHERE id = ?`).get(id);
  return row ? parseWorkOrder(row) : undefined;
}

export function getWorkOrderOfTask(db: Db, taskId: string): WorkOrderRecord | undefined {
  const row = db.sqlite.query<Record<string, any>, [string]>(`SELECT * FROM work_orders WHERE task_id = ?`).get(taskId);
  return row ? parseWorkOrder(row) : undefined;
}

function parseWorkOrder(row: Record<string, any>): WorkOrderRecord {
  return {
    ...row,
    payload: JSON.parse(row.payload),
    result: row.result == null ? null : JSON.parse(row.result),
    errors: JSON.parse(row.errors),
    requires: JSON.parse(row.requires),
  } as WorkOrderRecord;
}

