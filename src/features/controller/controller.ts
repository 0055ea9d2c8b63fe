// The controller: a running task asks (local thread or remote worker alike), a policy routes the question
// — to the LLM, to a human, or answers it at once (auto-approve, deny) — its deadline is honoured with the
// policy's explicit on-timeout action, and the resolution goes back to whoever waits. Questions are rows:
// they survive restarts (overdue ones are resolved at start, unanswered automated ones asked again), and a
// task that asks again under the same key gets the recorded answer.
import type { AnsweredBy, RequestHandler } from "../../db/schema.ts";
import { getTaskRecord, type TaskRecord } from "../../engine/task-record.ts";
import type { AskInput, ControllerDeps } from "./controller-deps.ts";
import { transact } from "../../engine/transact.ts";
import { markRunningAgain, markWaitingInput } from "../../engine/waiting-input.ts";
import { conflict, invalid, notFound } from "../../errors.ts";
import type { AskAnswer } from "../../task-types/types.ts";
import { logger } from "../../log.ts";
import { audited, recordAudit, SYSTEM_ACTOR, type Acting } from "../audit/service.ts";
import { dispatchAutomated } from "./automated-dispatch.ts";
import { releaseStaleReservations } from "./budgets.ts";
import { listPolicies, routeQuestion, seedDefaultPolicies, type QuestionFacts, type RouteDecision } from "./policies.ts";
import {
  cancelOpenRequests,
  getRequestRow,
  handOver,
  insertRequest,
  keyedRequest,
  openAutomatedRequests,
  openRequestCount,
  resolveRequestRow,
  answerOf,
  toRequestJson,
  type RequestJson,
  type RequestRow,
  type Resolution,
} from "./requests.ts";
import { DeadlineTimer } from "./deadline-timer.ts";
import { questionWaiting } from "./webhook.ts";

const log = logger("controller");

const TERMINAL = new Set(["succeeded", "failed", "cancelled", "timed_out"]);
const since = (ms: number) => new Date(ms).toISOString();

export class Controller {
  #waiters = new Map<string, Set<() => void>>();
  #inflight = new Map<string, AbortController>();
  #deadlines: DeadlineTimer;
  /** Tasks that may have open questions (asked since the start, or open at it): only their ends cancel anything. */
  #asking = new Set<string>();
  #off: Array<() => void> = [];
  #started = false;

  constructor(private readonly deps: ControllerDeps) {
    this.#deadlines = new DeadlineTimer(deps.db, deps.clock, (row) => this.#timeout(row));
  }

  /** Seeds the default rules once, resolves what fell due while the server was down, re-asks the LLM, arms the deadline timer. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { db, bus } = this.deps;
    seedDefaultPolicies(this.deps);
    for (const { task_id } of db.sqlite.query<{ task_id: string }, []>("SELECT DISTINCT task_id FROM worker_requests WHERE status = 'open'").all()) this.#asking.add(task_id);
    releaseStaleReservations(db, this.deps.clock());
    this.#off.push(
      bus.on("task:changed", (e) => {
        if (TERMINAL.has(e.status)) this.#cancelOpen({ taskId: e.taskId }, e.taskId, `the task ${e.status}`);
      }),
      // An attempt that ended while asking: its unkeyed questions have nobody waiting any more (keyed ones
      // stay open for the next attempt, which asks again under the same key).
      bus.on("execution:finished", (e) => this.#cancelOpen({ executionId: e.executionId, unkeyedOnly: true }, e.taskId, "the attempt ended")),
    );
    this.#deadlines.start();
    for (const row of openAutomatedRequests(db)) this.#dispatchAutomated(row);
  }

  stop(): void {
    for (const off of this.#off) off();
    this.#off = [];
    this.#deadlines.stop();
    for (const ac of this.#inflight.values()) ac.abort(new Error("server stopping"));
    this.#inflight.clear();
    for (const set of this.#waiters.values()) for (const fn of set) fn();
    this.#waiters.clear();
  }

  /** Which rule a question would match, and why (the dry run). */
  dryRun(facts: QuestionFacts): RouteDecision {
    return routeQuestion(listPolicies(this.deps), facts);
  }

  /**
   * A running task asks. Returns the request as stored: already resolved when the policy answers at once
   * (or the key was answered before), else open with the handler it went to.
   */
  ask(taskId: string, executionId: string | null, input: AskInput, requestId?: string): RequestJson {
    const { db } = this.deps;
    if (requestId) {
      // The asker's own id, sent again (its first answer was lost): the same question, not a second one.
      const existing = getRequestRow(db, requestId);
      if (existing) {
        if (existing.task_id !== taskId) throw conflict(`request '${requestId}' exists for another task`);
        return toRequestJson(existing);
      }
    }
    const task = getTaskRecord(db, taskId);
    if (!task) throw notFound("task", taskId);
    if (task.status !== "running" && task.status !== "waiting_input") {
      throw conflict(`task '${taskId}' is ${task.status}: only a running task can ask a question`);
    }
    const options = input.options ?? [];
    if (new Set(options).size !== options.length) throw invalid("options must be distinct", [{ field: "options", message: "each option at most once" }]);
    if (input.key) {
      const existing = keyedRequest(db, taskId, input.key);
      if (existing) return this.#reuse(existing, executionId);
    }
    const now = this.deps.clock();
    const decision = routeQuestion(listPolicies(this.deps), {
      task_type: task.task_type,
      permission_level: task.permission_level,
      repository_url: task.repository_url,
      category: input.category ?? null,
      question: input.question,
    });
    const { policy } = decision;
    const windowSeconds = input.deadline_seconds ?? policy.timeout_seconds;
    let handler: RequestHandler = "none";
    let escalation: string | null = null;
    let resolution: (Resolution & { by: AnsweredBy }) | null = null;
    switch (policy.action) {
      case "auto_approve":
        resolution = { status: "answered", answer: options[0] ?? "approved", answeredBy: { type: "auto_approve", id: `policy:${policy.id}` }, by: "auto_approve" };
        break;
      case "deny":
        resolution = { status: "answered", answer: null, denied: true, answeredBy: { type: "automated", id: `policy:${policy.id}` }, by: "automated" };
        break;
      case "automated":
        if (this.deps.llm()) handler = "automated";
        else {
          handler = "human";
          escalation = "no model is configured (Settings → Models, or AGENTVINE_LLM_*): a human answers instead";
        }
        break;
      case "human":
        handler = "human";
        break;
    }
    const id = requestId ?? Bun.randomUUIDv7();
    const row = {
      id,
      task_id: taskId,
      execution_id: executionId,
      request_key: input.key ?? null,
      category: input.category ?? null,
      question: input.question,
      options: JSON.stringify(options),
      context: input.context === undefined ? null : JSON.stringify(input.context),
      status: resolution ? ("answered" as const) : ("open" as const),
      handler,
      policy_id: policy.id === "built-in-default" ? null : policy.id,
      policy_name: policy.name,
      route_action: policy.action,
      route_reason: decision.reasons.join("; "),
      escalation_reason: escalation,
      deadline_at: resolution || windowSeconds == null ? null : now + windowSeconds * 1000,
      on_timeout: policy.on_timeout,
      on_timeout_answer: policy.on_timeout_answer,
      answer: resolution?.answer ?? null,
      denied: resolution?.denied ? 1 : 0,
      answered_by_type: resolution?.answeredBy?.type ?? null,
      answered_by_id: resolution?.answeredBy?.id ?? null,
      created_at: now,
      resolved_at: resolution ? now : null,
    };
    try {
      this.#asking.add(taskId); // before the insert commits: a cancel in between finds it
      transact(this.deps, (tx) => {
        insertRequest(db, row);
        if (!resolution) markWaitingInput(this.deps, tx, taskId);
      });
    } catch (err) {
      // Two attempts asking under one key at once: the second reuses the first's question.
      if (input.key && /UNIQUE/i.test((err as Error).message)) {
        const existing = keyedRequest(db, taskId, input.key);
        if (existing) return this.#reuse(existing, executionId);
      }
      throw err;
    }
    const stored = getRequestRow(db, id)!;
    this.deps.bus.emit("request:created", { requestId: id, taskId, status: stored.status, handler, at: now });
    const route = `policy '${policy.name}' → ${policy.action}${escalation ? ` (${escalation})` : ""}`;
    this.#log(stored, "info", `asked: ${input.question} — ${route}${stored.deadline_at ? `, deadline ${since(stored.deadline_at)}` : ""}`);
    if (resolution) {
      this.#log(stored, "info", `answered at once by ${policy.action === "deny" ? "the policy (denied)" : `auto-approve: ${stored.answer}`}`);
      this.deps.bus.emit("request:resolved", { requestId: id, taskId, status: stored.status, handler, at: now });
      return toRequestJson(stored);
    }
    if (handler === "automated") this.#dispatchAutomated(stored);
    else this.#notifyHuman(stored, task);
    this.#deadlines.arm();
    return toRequestJson(stored);
  }

  /** The same key again (a retried or recovered attempt): the question it already asked, now this attempt's. */
  #reuse(existing: RequestRow, executionId: string | null): RequestJson {
    const { db } = this.deps;
    if (existing.status === "open") {
      transact(this.deps, (tx) => {
        if (executionId && existing.execution_id !== executionId) {
          db.sqlite.query("UPDATE worker_requests SET execution_id = ?, updated_at = ? WHERE id = ?").run(executionId, tx.at, existing.id);
        }
        markWaitingInput(this.deps, tx, existing.task_id);
      });
    }
    const row = getRequestRow(db, existing.id)!;
    this.#log(row, "info", `asked again under key '${existing.request_key}': ${existing.status === "open" ? "still waiting for its answer" : `the recorded answer is reused (${existing.answer})`}`);
    return toRequestJson(row);
  }

  /** `ctx.ask` of a local thread: asks, then waits until the question is resolved (or the attempt ends: `signal`). */
  async askAndWait(taskId: string, executionId: string, input: AskInput, signal: AbortSignal): Promise<AskAnswer> {
    let r = this.ask(taskId, executionId, input);
    while (r.status === "open") {
      r = await this.wait(r.id, 2 ** 31 - 1, signal);
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("the attempt ended");
    }
    return answerOf(r);
  }

  getRequest(id: string): RequestJson {
    const row = getRequestRow(this.deps.db, id);
    if (!row) throw notFound("request", id);
    return toRequestJson(row);
  }

  /** Resolves once the request is no longer open, or after `timeoutMs` (then as it is). */
  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<RequestJson> {
    const first = this.getRequest(id);
    if (first.status !== "open" || timeoutMs <= 0 || signal?.aborted) return first;
    await new Promise<void>((resolve) => {
      let set = this.#waiters.get(id);
      if (!set) this.#waiters.set(id, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        set!.delete(done);
        if (set!.size === 0 && this.#waiters.get(id) === set) this.#waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      set.add(done);
    });
    return this.getRequest(id);
  }

  /** A person answers (an option's text when the question has options). 409 naming what happened when it is no longer open. */
  respond(id: string, answer: string, acting?: Acting): RequestJson {
    const { db } = this.deps;
    const row = getRequestRow(db, id);
    if (!row) throw notFound("request", id);
    if (row.status !== "open") throw this.#notOpen(row);
    const options = JSON.parse(row.options) as string[];
    if (options.length && !options.includes(answer)) {
      throw invalid(`answer must be one of the options: ${options.map((o) => JSON.stringify(o)).join(", ")}`, [{ field: "answer", message: `one of ${options.join(", ")}` }]);
    }
    const resolved = this.#resolve(id, { status: "answered", answer, answeredBy: { type: "human", id: acting?.userId ?? acting?.actor.id ?? null } }, () =>
      audited(this.deps, acting, "request.answered", { type: "request", id }, { task_id: row.task_id, answer }),
    );
    if (!resolved) throw this.#notOpen(getRequestRow(db, id)!);
    return toRequestJson(resolved);
  }

  /** An admin withdraws an open question: the task's ask ends as cancelled. */
  cancel(id: string, acting?: Acting): RequestJson {
    const row = getRequestRow(this.deps.db, id);
    if (!row) throw notFound("request", id);
    const resolved = this.#resolve(id, { status: "cancelled", answer: null, answeredBy: null }, () =>
      audited(this.deps, acting, "request.cancelled", { type: "request", id }, { task_id: row.task_id }),
    );
    if (!resolved) throw this.#notOpen(getRequestRow(this.deps.db, id)!);
    return toRequestJson(resolved);
  }

  /** The 409 for acting on a request that is no longer open: what happened to it, and when. */
  #notOpen(row: RequestRow): Error {
    const at = row.resolved_at ? since(row.resolved_at) : "an earlier moment";
    if (row.status === "timed_out") {
      const auto = row.answer != null ? `yes (${JSON.stringify(row.answer)})` : row.denied ? "no (denied)" : "no (the task was failed)";
      return conflict(`request '${row.id}' is no longer open: the deadline passed at ${row.deadline_at ? since(row.deadline_at) : at}; answered automatically: ${auto}`);
    }
    if (row.status === "cancelled") return conflict(`request '${row.id}' is no longer open: it was cancelled at ${at} (its task or attempt ended)`);
    const who = row.answered_by_type === "human" ? "a person" : row.answered_by_type === "automated" ? (row.denied ? "its policy (denied)" : "the model") : (row.answered_by_type ?? "someone");
    return conflict(`request '${row.id}' is no longer open: it was answered by ${who} at ${at}${row.answer != null ? ` (${JSON.stringify(row.answer)})` : ""}`);
  }

  /** One guarded resolution (plus `within` in its transaction); then everyone waiting hears of it. Null when it was not open. */
  #resolve(id: string, r: Resolution, within?: (tx: unknown) => void): RequestRow | null {
    const { db } = this.deps;
    const resolved = transact(this.deps, (tx) => {
      const row = resolveRequestRow(db, id, r, tx.at);
      if (!row) return null;
      // A person's answer is audited by its caller (with who and from where); the rest here, as the system.
      if (within) within(tx);
      else recordAudit(this.deps, { actor: SYSTEM_ACTOR, action: "request.resolved", resource: { type: "request", id }, details: { task_id: row.task_id, status: row.status, answered_by: row.answered_by_type, answer: row.answer, denied: row.denied === 1 } });
      if (openRequestCount(db, row.task_id) === 0) markRunningAgain(this.deps, tx, row.task_id);
      return row;
    });
    if (resolved) this.#resolved(resolved);
    return resolved;
  }

  #resolved(row: RequestRow) {
    this.#inflight.get(row.id)?.abort(new Error("resolved"));
    this.#inflight.delete(row.id);
    const set = this.#waiters.get(row.id);
    this.#waiters.delete(row.id);
    this.deps.bus.emit("request:resolved", { requestId: row.id, taskId: row.task_id, status: row.status, handler: row.handler, at: row.resolved_at ?? this.deps.clock() });
    for (const fn of set ?? []) fn();
    const what =
      row.status === "cancelled" ? "cancelled" : row.denied ? "denied" : row.answer == null ? `${row.status} with no answer` : `answered (${row.answered_by_type}): ${row.answer}`;
    this.#log(row, row.status === "answered" ? "info" : "warn", `question ${what}`);
    this.#deadlines.arm();
  }

  #cancelOpen(scope: { taskId: string } | { executionId: string; unkeyedOnly: true }, taskId: string, why: string) {
    // Most tasks never ask: no statement for them (every task's end would otherwise be a write).
    if (!this.#asking.has(taskId)) return;
    const rows = cancelOpenRequests(this.deps.db, scope, this.deps.clock());
    if ("taskId" in scope) this.#asking.delete(taskId);
    for (const row of rows) {
      log.debug(`cancelled request ${row.id}: ${why}`);
      this.#resolved(row);
    }
  }

  // ---- deadlines ----

  #timeout(row: RequestRow) {
    const by = { type: "timeout" as const, id: row.policy_id ? `policy:${row.policy_id}` : null };
    switch (row.on_timeout) {
      case "auto_answer":
        this.#resolve(row.id, { status: "timed_out", answer: row.on_timeout_answer, answeredBy: by });
        return;
      case "deny":
        this.#resolve(row.id, { status: "timed_out", answer: null, denied: true, answeredBy: by });
        return;
      case "fail_task":
        this.#resolve(row.id, { status: "timed_out", answer: null, answeredBy: by });
        return;
      case "escalate": {
        const reason = `the deadline passed at ${since(row.deadline_at!)}`;
        const to: RequestHandler = row.handler === "automated" ? "human" : "automated";
        if (to === "automated" && !this.deps.llm()) {
          this.#resolve(row.id, { status: "timed_out", answer: null, answeredBy: by });
          return;
        }
        // The new handler gets the same window again; if that passes too, the task fails.
        const window = row.deadline_at! - row.created_at;
        const moved = handOver(this.deps.db, row.id, { handler: to, reason: `${reason}: escalated to ${to === "human" ? "a human" : "the model"}`, deadlineAt: this.deps.clock() + window, onTimeout: "fail_task", from: row.handler }, this.deps.clock());
        if (!moved) return;
        this.#handedOver(moved);
      }
    }
  }

  #handedOver(row: RequestRow) {
    this.deps.bus.emit("request:updated", { requestId: row.id, taskId: row.task_id, status: row.status, handler: row.handler, at: row.updated_at });
    this.#log(row, "warn", `question handed to ${row.handler === "human" ? "a human" : "the model"}: ${row.escalation_reason}`);
    if (row.handler === "automated") this.#dispatchAutomated(row);
    else {
      const task = getTaskRecord(this.deps.db, row.task_id);
      if (task) this.#notifyHuman(row, task);
    }
    this.#deadlines.arm();
  }

  // ---- the automated handler ----

  #dispatchAutomated(row: RequestRow) {
    dispatchAutomated(this.deps, row, this.#inflight, {
      resolve: (id, r) => this.#resolve(id, r),
      handedOver: (moved) => this.#handedOver(moved),
    });
  }

  // ---- humans ----

  #notifyHuman(row: RequestRow, task: TaskRecord) {
    const settings = this.deps.webhook();
    if (!settings) return;
    void questionWaiting(settings, toRequestJson(row), task, this.deps.publicUrl?.() ?? null);
  }

  #log(row: RequestRow, level: "info" | "warn", message: string) {
    if (!row.execution_id || !this.deps.logger) return;
    this.deps.logger.append(row.execution_id, row.task_id, [[level, message, { request_id: row.id }, this.deps.clock()]]);
  }
}
