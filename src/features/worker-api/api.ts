// /api/v1/queue/{claim,complete,fail,logs,report}: what remote workers (`agentvine worker`) call to claim
// work (long-poll), report its outcome and stream its logs — one at a time, or batched in /queue/report
// (or in the claim itself). Registration and heartbeats are the registry's (features/workers).
import type { Context } from "hono";
import { Hono } from "hono";
import { AppError } from "../../errors.ts";
import { route } from "../../http/openapi.ts";
import { hasRole } from "../auth/middleware.ts";
import { accessGuard, watchAccess } from "../auth/principals.ts";
import type { QueueCaller, WorkerApiDeps } from "./acting-worker.ts";
import { claimForWorker } from "./claims.ts";
import { completeExecution, failExecution } from "./outcomes.ts";
import { appendRemoteLogs, reportBeforeClaim, reportForWorker } from "./reports.ts";
import { actingWorker } from "./acting-worker.ts";
import { AcceptedOut, ClaimBody, ClaimOut, CompleteBody, FailBody, FailOut, LogsBody, LogsOut, MAX_REPORT_LOG_LINES, MAX_REPORT_OUTCOMES, MessagesBody, MessagesOut, ReportBody, ReportOut, CallBody, CallOut } from "./schemas.ts";

const tags = ["queue"];

const claim = route({
  method: "post",
  path: "/queue/claim",
  access: "worker",
  summary: "Claim work for a registered remote worker (long-poll)",
  description:
    "Leases up to `limit` orders whose required capabilities the worker has, within its free slots (max_concurrent_tasks " +
    "minus the orders it holds). With `wait_seconds`, waits for matching work and answers as soon as some is queued; " +
    "204 when none came. 404 for an unknown worker, 409 for a draining one. A `report` (as for POST /queue/report) is " +
    "delivered first — nothing of it when the worker may not claim — and answered in `report`, with 200 even when no work came.",
  tags,
  body: ClaimBody,
  responses: { 200: ClaimOut, 204: "No work within wait_seconds" },
});
const complete = route({
  method: "post",
  path: "/queue/complete",
  access: "worker",
  summary: "Report a claimed task succeeded",
  description: "409 when the lease expired, moved to another worker or the task was cancelled: the result is not recorded.",
  tags,
  body: CompleteBody,
  responses: { 200: AcceptedOut },
});
const fail = route({
  method: "post",
  path: "/queue/fail",
  access: "worker",
  summary: "Report a claimed task failed",
  description: "Retryable failures go back to the queue with backoff while retries remain (`retry_at`). 409 as for complete.",
  tags,
  body: FailBody,
  responses: { 200: FailOut },
});
const logs = route({
  method: "post",
  path: "/queue/logs",
  access: "worker",
  summary: "Append log lines of executions the worker runs",
  description: "All or nothing: a line of an execution the worker does not hold (finished, lease lost) refuses the batch with 409.",
  tags,
  body: LogsBody,
  responses: { 202: LogsOut },
});

const report = route({
  method: "post",
  path: "/queue/report",
  access: "worker",
  summary: "Report log lines and outcomes in one request",
  description:
    `Up to ${MAX_REPORT_LOG_LINES} log lines and ${MAX_REPORT_OUTCOMES} outcomes (400 past that). The lines are stored first ` +
    "(those of executions the worker does not hold are refused per execution, in `logs.refused`), then every outcome in one " +
    "transaction, each answered in order: `accepted: false` with the `reason` when its lease expired or moved or the task " +
    "was cancelled (as the 409 of complete/fail), `retry_at` when a retryable failure queued the task again.",
  tags,
  body: ReportBody,
  responses: { 200: ReportOut },
});

const messages = route({
  method: "post",
  path: "/queue/messages",
  access: "worker",
  summary: "Messages for the tasks this worker runs (long-poll)",
  description:
    "Messages people send to a running task's conversation, for the tasks this worker holds, numbered per worker. `after` " +
    "acknowledges every message up to that number; with `wait_seconds` the call waits for the next one.",
  tags,
  body: MessagesBody,
  responses: { 200: MessagesOut },
});

const call = route({
  method: "post",
  path: "/queue/call",
  access: "worker",
  summary: "A service call of a task this worker runs (a coding agent's model step, its transcript)",
  description: "The execution must be running on this worker under a live lease (409 otherwise). Answers the call's value, or its error in the documented shape.",
  tags,
  body: CallBody,
  responses: { 200: CallOut },
});

/** The services a remote-worker call needs. */
const remoteOf = (c: Context): WorkerApiDeps => ({ deps: c.get("deps"), logger: c.get("logger"), secrets: c.get("secrets"), claimWaiters: c.get("claimWaiters") });

function callerOf(c: Context): QueueCaller {
  const principal = c.get("principal");
  return { keyId: principal?.keyId ?? null, admin: hasRole(principal, "admin") };
}

/** A long-poll whose caller lost access while it waited (key revoked, user deactivated). */
const accessWithdrawn = () =>
  new AppError(401, "unauthorized", "Access was withdrawn while waiting (revoked key, deactivated user or ended session)", [], { "WWW-Authenticate": 'Bearer realm="agentvine"' });

export const workerApi = new Hono()
  .post(claim.spec.path, ...claim.json, async (c) => {
    const { worker_id, limit, wait_seconds, report } = c.req.valid("json");
    const reported = report ? reportBeforeClaim(remoteOf(c), worker_id, report, callerOf(c)) : undefined;
    const waitMs = wait_seconds * 1000;
    if (waitMs > 0) c.get("holdOpen")();
    const auth = c.get("auth");
    const guard = waitMs > 0 ? accessGuard(auth.principals, c.get("principal"), auth.clock) : undefined;
    // Up to a minute: a worker whose key is revoked meanwhile gets a 401 then, and no work.
    const lost = new AbortController();
    const stop = guard ? watchAccess(guard, () => lost.abort()) : () => {};
    try {
      const signal = guard ? AbortSignal.any([c.req.raw.signal, lost.signal]) : c.req.raw.signal;
      const items = await claimForWorker(remoteOf(c), worker_id, limit, waitMs, callerOf(c), signal);
      if (lost.signal.aborted) throw accessWithdrawn();
      if (reported) return c.json({ items, report: reported });
      return items.length > 0 ? c.json({ items }) : c.body(null, 204);
    } finally {
      stop();
    }
  })
  .post(complete.spec.path, ...complete.json, (c) => c.json(completeExecution(remoteOf(c), c.req.valid("json"), callerOf(c))))
  .post(fail.spec.path, ...fail.json, (c) => c.json(failExecution(remoteOf(c), c.req.valid("json"), callerOf(c))))
  .post(logs.spec.path, ...logs.json, (c) => c.json(appendRemoteLogs(remoteOf(c), c.req.valid("json"), callerOf(c)), 202))
  .post(call.spec.path, ...call.json, async (c) => {
    const { worker_id, execution_id, method, params } = c.req.valid("json");
    actingWorker(c.get("deps"), worker_id, callerOf(c));
    const held = c.get("deps").db.sqlite
      .query<{ task_id: string }, [string, string]>(
        `SELECT e.task_id FROM executions e JOIN work_orders w ON w.id = e.work_order_id
          WHERE e.id = ? AND e.worker_id = ? AND e.status = 'running' AND w.status = 'claimed' AND w.claimed_by = e.worker_id`,
      )
      .get(execution_id, worker_id);
    if (!held) throw new AppError(409, "conflict", `execution '${execution_id}' is not running on worker '${worker_id}' (finished, or its lease moved on)`);
    c.get("holdOpen")();
    return c.json({ value: await c.get("agents").call(held.task_id, execution_id, method, params, c.req.raw.signal) });
  })
  .post(messages.spec.path, ...messages.json, async (c) => {
    const { worker_id, after, wait_seconds, epoch } = c.req.valid("json");
    actingWorker(c.get("deps"), worker_id, callerOf(c));
    if (wait_seconds > 0) c.get("holdOpen")();
    return c.json(await c.get("mailboxes").take(worker_id, after, wait_seconds * 1000, c.req.raw.signal, epoch));
  })
  .post(report.spec.path, ...report.json, (c) => c.json(reportForWorker(remoteOf(c), c.req.valid("json"), callerOf(c))));
