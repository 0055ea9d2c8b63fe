// The remote worker's side of the HTTP contract (/api/v1/workers, /api/v1/queue/*): one method per
// endpoint, and errors sorted by what the worker must do about them (retry, drop, or give up).
import type { LogLevel } from "../db/schema.ts";
import type { AskAnswer, AskInput, TaskMessageIn } from "../task-types/types.ts";

export interface RegisterBody {
  name: string;
  /** Random per process start: the server refuses (409) a name still live under another instance. */
  instance_id?: string;
  hostname?: string;
  version?: string;
  capabilities?: string[];
  max_concurrent_tasks?: number;
  config?: Record<string, unknown>;
}

export interface WorkerJson {
  id: string;
  name: string;
  status: string;
  capabilities?: string[];
  max_concurrent_tasks?: number;
}

export interface HeartbeatBody {
  load?: number;
  cpu_percent?: number;
  memory_bytes?: number;
  /** The work orders it holds: their leases are extended; those it no longer holds come back in `lost`. */
  running_work_order_ids?: string[];
  /** The instance_id it registered with: the server refuses (409) a heartbeat from an instance that was replaced. */
  instance_id?: string;
}

/** The worker row, plus what the heartbeat did to the leases; `draining`: an admin drained it — stop claiming. */
export interface HeartbeatAnswer extends WorkerJson {
  extended: string[];
  lost: string[];
  draining?: boolean;
}

export interface ClaimItem {
  work_order_id: string;
  task_id: string;
  execution_id: string;
  lease_token: string;
  lease_until: number;
  attempt: number;
  task_type: string;
  params: Record<string, unknown>;
  timeout_seconds: number;
}

/** The ids a claim item may carry: they name files (the execution's workspace) and go back in requests. */
const CLAIM_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** Why a claimed item must not run (an id that is not a plain id: a broken or hostile server), or null when it is fine. */
export function claimItemProblem(item: ClaimItem): string | null {
  const bad = (["execution_id", "task_id", "work_order_id"] as const).filter((k) => typeof item?.[k] !== "string" || !CLAIM_ID.test(item[k]));
  if (bad.length === 0) return null;
  return bad.map((k) => `${k} ${JSON.stringify(item?.[k])?.slice(0, 120) ?? "missing"}`).join(", ") + " (expected 1-100 of A-Z a-z 0-9 _ -)";
}

export interface LogLine {
  execution_id: string;
  level: LogLevel;
  message: string;
  metadata?: Record<string, unknown> | null;
  ts: number;
}

interface Finished {
  worker_id: string;
  work_order_id: string;
  lease_token: string;
  execution_id: string;
  exit_code?: number | null;
  stdout?: string;
  stderr?: string;
  duration_ms?: number;
}
export interface CompleteBody extends Finished {
  result?: unknown;
  cpu_ms?: number | null;
  max_rss_bytes?: number | null;
}
export interface FailBody extends Finished {
  error: string;
  /** Defaults to true on the server: false makes the failure final whatever the retry budget. */
  retryable?: boolean;
  timed_out?: boolean;
}

/** One outcome in a report (POST /queue/report, or a claim's `report`). */
export interface ReportedOutcome {
  execution_id: string;
  work_order_id: string;
  lease_token: string;
  status: "succeeded" | "failed" | "timed_out";
  result?: unknown;
  error?: string;
  retryable?: boolean;
  exit_code?: number | null;
  stdout?: string;
  stderr?: string;
  duration_ms?: number;
  cpu_ms?: number | null;
  max_rss_bytes?: number | null;
}

/** Log lines and outcomes delivered in one request: the server stores the lines first. */
export interface Report {
  logs: LogLine[];
  outcomes: ReportedOutcome[];
}

/** Per outcome, in the order sent: recorded or refused (`reason`); the executions whose lines were refused. */
export interface ReportAnswer {
  outcomes: Array<{ execution_id: string; accepted: boolean; reason?: string; retry_at?: number }>;
  logs: { accepted: number; refused: string[] };
}

/** POST /requests: a question of a task this worker runs (its current execution). */
export interface AskBody extends AskInput {
  id: string;
  task_id: string;
  execution_id: string;
}

/** A question as the server answers it (the fields the worker reads). */
export interface RequestAnswer {
  id: string;
  status: "open" | "answered" | "timed_out" | "cancelled";
  answer: string | null;
  denied: boolean;
  answered_by: AskAnswer["answered_by"];
}

/** The server's limits per report (400 past them). */
export const MAX_REPORT_LOG_LINES = 1000;
export const MAX_REPORT_OUTCOMES = 256;

/**
 * What went wrong with a request. `transient`: the server is unreachable, overloaded or broke (network
 * error, timeout, 5xx, 429) — retry later; `auth`: 401/403, the key is bad or revoked — stop; otherwise
 * the server refused this request (409 conflict: the lease moved on) and resending it cannot help.
 */
export class WorkerApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    /** The request may never have reached the server (no answer arrived). */
    readonly unsent = false,
  ) {
    super(message);
  }
  get transient(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
  get auth(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

const REQUEST_TIMEOUT_MS = 15_000;

export class WorkerClient {
  readonly base: string;
  constructor(
    server: string,
    private readonly token: string,
    private readonly userAgent = "agentvine-worker",
  ) {
    this.base = `${server.replace(/\/+$/, "")}/api/v1`;
  }

  async register(body: RegisterBody): Promise<WorkerJson> {
    return (await this.#post<WorkerJson>("/workers", body))!;
  }

  async heartbeat(workerId: string, body: HeartbeatBody): Promise<HeartbeatAnswer> {
    return (await this.#post(`/workers/${encodeURIComponent(workerId)}/heartbeat`, body))!;
  }

  /** Long-polls up to `waitSeconds`; no items when nothing came (204). A `report` is delivered first and answered in `report`. */
  /** The worker is stopping: offline at once on the server (not after missed heartbeats). */
  async offline(workerId: string, body: { instance_id?: string }): Promise<void> {
    await this.#post(`/workers/${encodeURIComponent(workerId)}/offline`, body, { timeoutMs: 5000 });
  }

  async claim(body: { worker_id: string; limit: number; wait_seconds: number; report?: Report }, signal?: AbortSignal): Promise<{ items: ClaimItem[]; report?: ReportAnswer }> {
    const res = await this.#post<{ items: ClaimItem[]; report?: ReportAnswer }>("/queue/claim", body, { timeoutMs: (body.wait_seconds + 15) * 1000, signal });
    return res ?? { items: [] };
  }

  async report(workerId: string, report: Report): Promise<ReportAnswer> {
    return (await this.#post<ReportAnswer>("/queue/report", { worker_id: workerId, ...report }))!;
  }

  async complete(body: CompleteBody): Promise<void> {
    await this.#post("/queue/complete", body);
  }

  async fail(body: FailBody): Promise<void> {
    await this.#post("/queue/fail", body);
  }

  async logs(workerId: string, lines: LogLine[]): Promise<void> {
    await this.#post("/queue/logs", { worker_id: workerId, lines });
  }

  /** Messages for the tasks it runs after `after` (acknowledging those), long-polling up to `waitSeconds`. */
  async messages(workerId: string, after: number, epoch: string | undefined, waitSeconds: number, signal?: AbortSignal): Promise<{ items: Array<{ seq: number; execution_id: string; message: TaskMessageIn }>; dropped: number; epoch: string }> {
    return (await this.#post("/queue/messages", { worker_id: workerId, after, epoch, wait_seconds: waitSeconds }, { timeoutMs: (waitSeconds + 15) * 1000, signal }))!;
  }

  /** A service call of a task it runs (a coding agent's model step). */
  async call(workerId: string, executionId: string, method: string, params: unknown, signal?: AbortSignal): Promise<unknown> {
    const res = await this.#post<{ value: unknown }>("/queue/call", { worker_id: workerId, execution_id: executionId, method, params }, { timeoutMs: 15 * 60_000, signal });
    return res?.value;
  }

  /** Asks a question for a task it runs; `id` makes a resend after a lost answer return the same question. */
  async ask(body: AskBody): Promise<RequestAnswer> {
    return (await this.#post<RequestAnswer>("/requests", body))!;
  }

  /** Long-polls until the question is resolved, or `timeoutSeconds` passed (then as it is). */
  async waitRequest(id: string, timeoutSeconds: number, signal?: AbortSignal): Promise<RequestAnswer> {
    return (await this.#request<RequestAnswer>("GET", `/requests/${encodeURIComponent(id)}/wait?timeout=${timeoutSeconds}`, undefined, { timeoutMs: (timeoutSeconds + 15) * 1000, signal }))!;
  }

  #post<T>(path: string, body: unknown, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T | null> {
    return this.#request<T>("POST", path, body, o);
  }

  async #request<T>(method: "GET" | "POST", path: string, body: unknown, o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T | null> {
    const timeout = AbortSignal.timeout(o.timeoutMs ?? REQUEST_TIMEOUT_MS);
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), "user-agent": this.userAgent },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
      });
    } catch (err) {
      const e = err as Error;
      const reason = e.name === "TimeoutError" ? "timed out" : e.name === "AbortError" ? "aborted" : e.message;
      throw new WorkerApiError(0, "unreachable", `${path}: ${reason}`, null, true);
    }
    if (res.status === 204) return null;
    const text = await res.text().catch(() => "");
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: a proxy's error page, say
    }
    if (!res.ok) {
      const err = parsed?.error;
      throw new WorkerApiError(res.status, err?.code ?? `http_${res.status}`, `${path}: ${res.status} ${err?.message ?? (text.slice(0, 200) || res.statusText)}`, err?.details ?? null);
    }
    return parsed as T;
  }
}
