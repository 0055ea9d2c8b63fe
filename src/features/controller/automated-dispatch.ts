// The automated handler's dispatch: asks the model for an open request (answerAutomatically), records
// what the call cost, and resolves the request with the answer — or hands it to a human with the reason
// (escalation, a budget refusal, a provider failure, an answer outside the options). One call in flight per
// request, aborted when the request is resolved some other way.
import { getTaskRecord, planRunOf } from "../../engine/task-record.ts";
import { logger } from "../../log.ts";
import { answerAutomatically } from "./automated.ts";
import type { ControllerDeps } from "./controller-deps.ts";
import { getRequestRow, handOver, recordLlm, type RequestRow, type Resolution } from "./requests.ts";

const log = logger("controller");

export interface DispatchHooks {
  resolve(id: string, r: Resolution): void;
  handedOver(row: RequestRow): void;
}

export function dispatchAutomated(deps: ControllerDeps, row: RequestRow, inflight: Map<string, AbortController>, hooks: DispatchHooks): void {
    const { db, clock } = deps;
    const settings = deps.llm();
    const task = getTaskRecord(db, row.task_id);
    if (!task) return;
    if (!settings) {
      const moved = handOver(db, row.id, { handler: "human", reason: "no model is configured: a human answers instead", deadlineAt: row.deadline_at, onTimeout: row.on_timeout, from: "automated" }, clock());
      if (moved) hooks.handedOver(moved);
      return;
    }
    const ac = new AbortController();
    inflight.set(row.id, ac);
    let contextUsed: unknown = null;
    answerAutomatically(
      {
        db,
        clock,
        settings,
        budgets: deps.budgets(),
        masker: deps.masker,
        sources: deps.sources,
        runOf: (t) => planRunOf(db, t.parent_task_id),
        retryBaseMs: deps.retryBaseMs,
        onDelta: (text) => deps.bus.emit("request:delta", { requestId: row.id, taskId: row.task_id, text }),
        onContext: (used) => {
          contextUsed = used;
          recordLlm(db, row.id, { provider: settings.provider, model: settings.model, state: "asking" }, used, clock());
          deps.bus.emit("request:updated", { requestId: row.id, taskId: row.task_id, status: "open", handler: "automated", at: clock() });
        },
      },
      row,
      task,
      ac.signal,
    )
      .then((outcome) => {
        if (ac.signal.aborted) return;
        recordLlm(db, row.id, outcome.llm, contextUsed, clock());
        if (outcome.kind === "answer") {
          hooks.resolve(row.id, { status: "answered", answer: outcome.answer, answeredBy: { type: "automated", id: settings.model }, handler: "automated" });
          return;
        }
        const current = getRequestRow(db, row.id);
        if (!current || current.status !== "open") return;
        const window = current.deadline_at != null ? Math.max(current.deadline_at - current.created_at, 0) : null;
        const moved = handOver(db, row.id, { handler: "human", reason: outcome.reason, deadlineAt: window === null ? null : clock() + window, onTimeout: current.on_timeout === "escalate" ? "fail_task" : current.on_timeout, from: "automated" }, clock());
        if (moved) hooks.handedOver(moved);
      })
      .catch((err) => {
        if (ac.signal.aborted) return;
        log.error(`the automated handler failed on request ${row.id}:`, err);
        const moved = handOver(db, row.id, { handler: "human", reason: `the automated handler failed: ${(err as Error).message}`, deadlineAt: row.deadline_at, onTimeout: row.on_timeout, from: "automated" }, clock());
        if (moved) hooks.handedOver(moved);
      })
      .finally(() => {
        if (inflight.get(row.id) === ac) inflight.delete(row.id);
      });
}
