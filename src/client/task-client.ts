// TaskClient: a typed client of the task and plan API for scripts and the CLI (`agentvine task|plan …`).
import type { TaskJson } from "../engine/task-record.ts";
import type { PlanJson } from "../features/plans/service.ts";

export type Task = TaskJson;
export type Plan = PlanJson;

/** A plan as written in a file or sent to POST/PUT /plans: what `plan export` prints and `plan apply` reads. */
export interface PlanDefinition {
  name: string;
  description?: string | null;
  steps: Array<{
    name: string;
    task_type: string;
    params?: Record<string, unknown>;
    depends_on?: string[];
    timeout_seconds?: number;
    max_retries?: number;
    priority?: "high" | "default" | "low";
  }>;
}
export type TaskStatus = Task["status"];
export const TERMINAL: ReadonlySet<TaskStatus> = new Set<TaskStatus>(["succeeded", "failed", "cancelled", "timed_out"]);

export interface NewTaskRequest {
  title: string;
  task_type: string;
  params?: Record<string, unknown>;
  description?: string;
  priority?: "high" | "default" | "low";
  depends_on?: string[];
  parent_task_id?: string;
  requires?: string[];
  timeout_seconds?: number;
  max_retries?: number;
  repository_url?: string;
  branch_name?: string;
  issue_number?: number;
  pr_number?: number;
  context?: unknown;
  metadata?: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  per_page: number;
}

export interface Execution {
  id: string;
  task_id: string;
  worker_id: string;
  attempt: number;
  status: string;
  exit_code: number | null;
  error: string | null;
  duration_ms: number | null;
  started_at: string;
  finished_at: string | null;
}

export interface LogLine {
  execution_id: string;
  seq: number;
  level: "debug" | "info" | "warn" | "error";
  message: string;
  metadata: Record<string, unknown> | null;
  ts: string;
}

export class TaskClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Array<{ field?: string; message: string }> = [],
  ) {
    super(message);
    this.name = "TaskClientError";
  }
}

export interface TaskClientOptions {
  /** Base URL of the server, e.g. http://localhost:8080 */
  server: string;
  /** Bearer token (access token or API key). */
  token?: string;
  fetch?: typeof fetch;
}

export class TaskClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;
  /** Whether requests carry a Bearer token (a 401 then means the token was refused, not missing). */
  readonly hasToken: boolean;

  constructor(opts: TaskClientOptions) {
    this.hasToken = Boolean(opts.token);
    this.#base = `${opts.server.replace(/\/+$/, "")}/api/v1`;
    this.#headers = { accept: "application/json", ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) };
    this.#fetch = opts.fetch ?? fetch;
  }

  async #request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers: body === undefined ? this.#headers : { ...this.#headers, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw new TaskClientError(0, "unreachable", `cannot reach ${this.#base}: ${(err as Error).message}`);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = json?.error;
      throw new TaskClientError(res.status, e?.code ?? "http_error", e?.message ?? `HTTP ${res.status}: ${text.slice(0, 200)}`, e?.details ?? []);
    }
    return json as T;
  }

  submit(task: NewTaskRequest): Promise<Task> {
    return this.#request("POST", "/tasks", task);
  }

  get(id: string): Promise<Task> {
    return this.#request("GET", `/tasks/${encodeURIComponent(id)}`);
  }

  list(
    query: {
      status?: string;
      task_type?: string;
      priority?: string;
      q?: string;
      parent_task_id?: string;
      id?: string;
      sort?: string;
      created_after?: string;
      created_before?: string;
      page?: number;
      per_page?: number;
    } = {},
  ): Promise<Page<Task>> {
    return this.#request("GET", `/tasks${queryString(query)}`);
  }

  /**
   * The whole id of a task given as the pages show it: a whole id, or its start or end (`…f81ff48c`).
   * 404 when no task matches, 409 naming the candidates when several do.
   */
  async resolveId(idOrShort: string): Promise<string> {
    const short = idOrShort.trim().replace(/^(…|\.\.\.)/, "");
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(short)) return short;
    const page = await this.list({ id: short, per_page: 5 });
    if (page.total === 1) return page.items[0]!.id;
    if (page.total === 0) throw new TaskClientError(404, "not_found", `no task id is, starts or ends with '${short}'`);
    const shown = page.items.map((t) => `${t.id} (${t.title})`).join(", ");
    throw new TaskClientError(409, "conflict", `'${short}' matches ${page.total} tasks: ${shown}${page.total > page.items.length ? ", …" : ""} — give more characters`);
  }

  cancel(id: string): Promise<Task> {
    return this.#request("POST", `/tasks/${encodeURIComponent(id)}/cancel`);
  }

  retry(id: string): Promise<Task> {
    return this.#request("POST", `/tasks/${encodeURIComponent(id)}/retry`);
  }

  delete(id: string): Promise<void> {
    return this.#request("DELETE", `/tasks/${encodeURIComponent(id)}`);
  }

  /** Every subtask of a task (a plan run's steps), in the order they were created. */
  async subtasks(parentId: string): Promise<Task[]> {
    const out: Task[] = [];
    for (let page = 1; ; page++) {
      const got = await this.list({ parent_task_id: parentId, per_page: 100, page });
      out.push(...got.items);
      if (got.items.length < 100 || out.length >= got.total) break;
    }
    // The list is newest first; ids are time-ordered (UUIDv7), so sorting by id gives creation order.
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  listPlans(query: { q?: string; page?: number; per_page?: number } = {}): Promise<Page<Plan>> {
    return this.#request("GET", `/plans${queryString(query)}`);
  }

  /** A plan by id or name; `version` reads a past version. */
  getPlan(idOrName: string, opts: { version?: number } = {}): Promise<Plan> {
    return this.#request("GET", `/plans/${encodeURIComponent(idOrName)}${queryString(opts)}`);
  }

  /** Creates a plan (version 1). */
  createPlan(body: PlanDefinition): Promise<Plan> {
    return this.#request("POST", "/plans", body);
  }

  /** Saves a plan's steps and description: a new version when they changed, the same one otherwise. */
  updatePlan(idOrName: string, body: PlanDefinition): Promise<Plan> {
    return this.#request("PUT", `/plans/${encodeURIComponent(idOrName)}`, body);
  }

  /** Starts a run of the plan's current version (or `version`); answers with the run (the parent task of the steps). */
  runPlan(idOrName: string, body: { inputs?: Record<string, unknown>; priority?: "high" | "default" | "low"; version?: number } = {}): Promise<Task> {
    return this.#request("POST", `/plans/${encodeURIComponent(idOrName)}/run`, body);
  }

  /** Long-polls until the task is finished; `timeoutSeconds` bounds the whole wait (default: forever). */
  async wait(id: string, opts: { timeoutSeconds?: number; signal?: AbortSignal } = {}): Promise<Task> {
    const deadline = opts.timeoutSeconds === undefined ? Infinity : Date.now() + opts.timeoutSeconds * 1000;
    for (;;) {
      const left = Math.max(0, Math.min(60, (deadline - Date.now()) / 1000));
      const task = await this.#request<Task>("GET", `/tasks/${encodeURIComponent(id)}/wait?timeout=${left.toFixed(1)}`, undefined, opts.signal);
      if (TERMINAL.has(task.status) || Date.now() >= deadline) return task;
    }
  }

  executions(taskId: string): Promise<Page<Execution>> {
    return this.#request("GET", `/executions?task_id=${encodeURIComponent(taskId)}&per_page=100`);
  }

  logs(executionId: string, opts: { after?: number; level?: string; limit?: number } = {}): Promise<{ items: LogLine[]; next_after: number; finished: boolean }> {
    const qs = new URLSearchParams();
    if (opts.after) qs.set("after", String(opts.after));
    if (opts.level) qs.set("level", opts.level);
    if (opts.limit) qs.set("limit", String(opts.limit));
    return this.#request("GET", `/executions/${encodeURIComponent(executionId)}/logs${qs.size ? `?${qs}` : ""}`);
  }

  /** Every log line of an execution, following it live until it finishes. */
  async *follow(executionId: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<LogLine> {
    let after = 0;
    for (;;) {
      const page = await this.logs(executionId, { after, limit: 5000 });
      for (const line of page.items) yield line;
      after = page.next_after;
      if (page.items.length === 0 && page.finished) return;
      if (page.items.length === 0) {
        // Wait for the next event on the stream rather than polling on a timer.
        await this.#nextLogEvent(executionId, after, opts.signal);
      }
    }
  }

  async #nextLogEvent(executionId: string, after: number, signal?: AbortSignal) {
    const controller = new AbortController();
    signal?.addEventListener("abort", () => controller.abort(), { once: true });
    try {
      const res = await this.#fetch(`${this.#base}/executions/${encodeURIComponent(executionId)}/logs?after=${after}`, {
        headers: { ...this.#headers, accept: "text/event-stream" },
        signal: controller.signal,
      });
      const reader = res.body?.getReader();
      if (!reader) return;
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += decoder.decode(value, { stream: true });
        if (/^event: (log|end)$/m.test(buf)) return;
      }
    } catch (err) {
      if ((err as Error).name !== "AbortError") throw err;
    } finally {
      controller.abort();
    }
  }
}

function queryString(query: Record<string, string | number | undefined>): string {
  const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
  return qs.size ? `?${qs}` : "";
}
