// LLM budgets: per task, per plan run and per day (UTC), in dollars and in tokens. Before every call the
// caller reserves the call's worst case (prompt + max_tokens at the configured prices) in the ledger, in
// one IMMEDIATE transaction with the check, so two calls can never both squeeze under a limit; the call
// is refused before it is made when any budget would be overspent. The reservation is settled with what
// the call actually used, or released when nothing was spent. One ledger for every spender (questions,
// coding agents).
import type { Db } from "../../db/client.ts";
import { AppError } from "../../errors.ts";

/** 0 or absent = no limit. */
export interface BudgetLimits {
  taskUsd?: number;
  taskTokens?: number;
  runUsd?: number;
  runTokens?: number;
  dailyUsd?: number;
  dailyTokens?: number;
}

export interface Spend {
  usd: number;
  tokens: number;
}

export interface ReserveRequest {
  taskId: string | null;
  runId: string | null;
  requestId?: string | null;
  purpose: string;
  model: string;
  /** Worst case of the call about to be made. */
  usd: number;
  tokens: number;
}

export type BudgetScope = "task" | "plan run" | "daily";

/** The call would overspend a budget: said before the call, never after. */
export class BudgetExceeded extends AppError {
  constructor(
    readonly scope: BudgetScope,
    readonly unit: "usd" | "tokens",
    readonly limit: number,
    readonly spent: number,
    readonly needed: number,
  ) {
    const fmt = (n: number) => (unit === "usd" ? `$${n.toFixed(4)}` : `${Math.round(n)} tokens`);
    super(409, "conflict", `the ${scope} budget of ${fmt(limit)} would be exceeded: ${fmt(spent)} spent or reserved, and this call may use up to ${fmt(needed)}`);
    this.name = "BudgetExceeded";
  }
}

export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** What counts against a budget: settled calls at their cost, open reservations at their worst case. */
const SPENT = `coalesce(sum(CASE status WHEN 'settled' THEN cost_usd WHEN 'reserved' THEN reserved_usd ELSE 0 END), 0) AS usd,
  coalesce(sum(CASE status WHEN 'settled' THEN coalesce(input_tokens, 0) + coalesce(output_tokens, 0) WHEN 'reserved' THEN reserved_tokens ELSE 0 END), 0) AS tokens`;

export function spendOf(db: Db, scope: { taskId?: string; runId?: string; day?: string }): Spend {
  const [column, value] = scope.taskId ? ["task_id", scope.taskId] : scope.runId ? ["run_id", scope.runId] : ["day", scope.day!];
  return db.sqlite.query<Spend, [string]>(`SELECT ${SPENT} FROM llm_ledger WHERE ${column} = ?`).get(value)!;
}

/**
 * Reserves `req` against every budget that applies, or throws BudgetExceeded naming the first one it
 * would overspend (nothing is written then). Returns the reservation's id.
 */
export function reserve(db: Db, limits: BudgetLimits, req: ReserveRequest, now: number): string {
  const day = utcDay(now);
  const id = Bun.randomUUIDv7();
  db.sqlite
    .transaction(() => {
      const checks: Array<[BudgetScope, Spend, number | undefined, number | undefined]> = [];
      if (req.taskId) checks.push(["task", spendOf(db, { taskId: req.taskId }), limits.taskUsd, limits.taskTokens]);
      if (req.runId) checks.push(["plan run", spendOf(db, { runId: req.runId }), limits.runUsd, limits.runTokens]);
      checks.push(["daily", spendOf(db, { day }), limits.dailyUsd, limits.dailyTokens]);
      for (const [scope, spent, usd, tokens] of checks) {
        // A budget counts tokens only while prices are unset (0): then it is the token limit that holds.
        if (usd && spent.usd + req.usd > usd + 1e-12) throw new BudgetExceeded(scope, "usd", usd, spent.usd, req.usd);
        if (tokens && spent.tokens + req.tokens > tokens) throw new BudgetExceeded(scope, "tokens", tokens, spent.tokens, req.tokens);
      }
      db.sqlite
        .query(
          `INSERT INTO llm_ledger (id, task_id, run_id, request_id, purpose, model, status, day, reserved_usd, reserved_tokens, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 'reserved', ?, ?, ?, ?)`,
        )
        .run(id, req.taskId, req.runId, req.requestId ?? null, req.purpose, req.model, day, req.usd, req.tokens, now);
    })
    .immediate();
  return id;
}

/** The call answered (or failed after using tokens): its real usage replaces the reservation. */
export function settle(db: Db, id: string, used: { inputTokens: number; outputTokens: number; costUsd: number }, now: number): void {
  db.sqlite
    .query("UPDATE llm_ledger SET status = 'settled', input_tokens = ?, output_tokens = ?, cost_usd = ?, settled_at = ? WHERE id = ? AND status = 'reserved'")
    .run(used.inputTokens, used.outputTokens, used.costUsd, now, id);
}

/** The call was never answered (refused, unreachable): nothing was spent. */
export function release(db: Db, id: string, now: number): void {
  db.sqlite.query("UPDATE llm_ledger SET status = 'released', settled_at = ? WHERE id = ? AND status = 'reserved'").run(now, id);
}

/** Reservations a crash left open: their calls never finished here; they count as nothing spent. */
export function releaseStaleReservations(db: Db, now: number): number {
  return db.sqlite.query("UPDATE llm_ledger SET status = 'released', settled_at = ? WHERE status = 'reserved'").run(now).changes;
}

export interface CostRow {
  key: string;
  calls: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

/** Settled spend grouped by task, plan run, repository or day (the cost view). */
export function costBreakdown(db: Db, by: "task" | "run" | "repository" | "day", limit = 20): CostRow[] {
  const key =
    by === "task" ? "l.task_id" : by === "run" ? "l.run_id" : by === "day" ? "l.day" : "coalesce(t.repository_url, '(none)')";
  return db.sqlite
    .query<CostRow, [number]>(
      `SELECT ${key} AS key, count(*) AS calls, coalesce(sum(l.input_tokens), 0) AS input_tokens,
              coalesce(sum(l.output_tokens), 0) AS output_tokens, coalesce(sum(l.cost_usd), 0) AS cost_usd
         FROM llm_ledger l LEFT JOIN tasks t ON t.id = l.task_id
        WHERE l.status = 'settled' AND ${key} IS NOT NULL
        GROUP BY ${key} ORDER BY ${by === "day" ? "key DESC" : "cost_usd DESC, input_tokens + output_tokens DESC"} LIMIT ?`,
    )
    .all(limit);
}
