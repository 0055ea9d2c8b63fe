// The Weights & Biases sink: one W&B run per execution (named by the execution id, grouped by task,
// job type = task type), its log lines streamed as the run's console output, numbers a line carries in
// `metadata.metrics` as history rows, and the attempt's figures (duration, CPU, memory, exit code) as the
// last history row and the summary. It speaks the HTTP API the wandb SDK uses: GraphQL `upsertBucket`
// to create the run, then the run's `file_stream` endpoint (output.log, wandb-history.jsonl,
// wandb-summary.json) and a final `{complete, exitcode}`. Offsets only move once a post arrived, so a
// retried post rewrites the same lines instead of repeating them.
import type { Db } from "../../db/client.ts";
import type { LogSink } from "../../engine/task-logger.ts";
import type { EventBus, LogEvent } from "../../events/bus.ts";
import { SinkBuffer, SinkError, sinkTuning, type SinkTuning } from "./sink-buffer.ts";
import type { TaskInfoCache } from "./task-info.ts";

export interface WandbSinkOptions extends SinkTuning {
  /** The W&B API, https://api.wandb.ai by default (or a self-hosted server). */
  baseUrl: string;
  apiKey: string;
  project: string;
  /** The team or user; by default the API key's own (asked once with the `viewer` query). */
  entity?: string;
  db: Db;
  bus: EventBus;
  tasks: TaskInfoCache;
  timeoutMs?: number;
}

type Item = { kind: "line"; e: LogEvent } | { kind: "finish"; executionId: string; taskId: string };

interface RunState {
  name: string;
  outputOffset: number;
  historyStep: number;
  created: boolean;
}

interface ExecutionRow {
  attempt: number;
  worker_id: string;
  status: string;
  exit_code: number | null;
  error: string | null;
  duration_ms: number | null;
  cpu_ms: number | null;
  max_rss_bytes: number | null;
  log_count: number;
  started_at: number;
  finished_at: number | null;
}

const UPSERT_BUCKET = `mutation UpsertBucket($name: String, $project: String, $entity: String, $displayName: String, $groupName: String, $jobType: String, $config: JSONString, $tags: [String!]) {
  upsertBucket(input: {name: $name, modelName: $project, entityName: $entity, displayName: $displayName, groupName: $groupName, jobType: $jobType, config: $config, tags: $tags}) {
    bucket { id name project { name entity { name } } }
    inserted
  }
}`;
const VIEWER = "query Viewer { viewer { id entity } }";
const MAX_RUNS = 10_000;

/** Numbers a line reports as metrics: `ctx.log.info("epoch done", { metrics: { loss: 0.31 } })`. */
function metricsOf(e: LogEvent): Record<string, number> | null {
  const m = e.metadata?.metrics;
  if (!m || typeof m !== "object" || Array.isArray(m)) return null;
  const out = Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === "number" && Number.isFinite(v))) as Record<string, number>;
  return Object.keys(out).length ? out : null;
}

export class WandbSink implements LogSink {
  readonly name = "wandb";
  readonly buffer: SinkBuffer<Item>;
  #runs = new Map<string, RunState>();
  #entity: string | null;
  #off: () => void;
  readonly #auth: string;

  constructor(private readonly opts: WandbSinkOptions) {
    this.#entity = opts.entity ?? null;
    this.#auth = `Basic ${Buffer.from(`api:${opts.apiKey}`).toString("base64")}`;
    this.buffer = new SinkBuffer<Item>({
      ...sinkTuning(opts),
      name: "wandb",
      send: (batch) => this.#send(batch),
    });
    this.#off = opts.bus.on("execution:finished", (e) => this.buffer.push({ kind: "finish", executionId: e.executionId, taskId: e.taskId }));
  }

  write(line: LogEvent): void {
    this.buffer.push({ kind: "line", e: line });
  }

  flush(): Promise<void> {
    return this.buffer.flush();
  }

  async stop(deadlineMs?: number): Promise<void> {
    this.#off();
    await this.buffer.stop(deadlineMs);
  }

  async #send(batch: Item[]): Promise<void> {
    const entity = await this.#entityName();
    // Per execution, in the order they appear; a run's lines before its finish.
    const groups = new Map<string, { taskId: string; lines: LogEvent[]; finish: boolean }>();
    for (const item of batch) {
      const id = item.kind === "line" ? item.e.executionId : item.executionId;
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { taskId: item.kind === "line" ? item.e.taskId : item.taskId, lines: [], finish: false }));
      if (item.kind === "line") g.lines.push(item.e);
      else g.finish = true;
    }
    for (const [executionId, g] of groups) {
      const run = await this.#ensureRun(entity, executionId, g.taskId);
      const url = `${this.opts.baseUrl}/files/${encodeURIComponent(entity)}/${encodeURIComponent(this.opts.project)}/${encodeURIComponent(run.name)}/file_stream`;
      const history = g.lines.flatMap((e) => {
        const m = metricsOf(e);
        return m ? [{ ...m, _timestamp: e.ts / 1000 }] : [];
      });
      const execution = g.finish ? this.#execution(executionId) : null;
      if (execution) history.push({ ...figuresOf(execution), _timestamp: (execution.finished_at ?? Date.now()) / 1000 });
      const files: Record<string, { offset: number; content: string[] }> = {};
      if (g.lines.length) files["output.log"] = { offset: run.outputOffset, content: g.lines.map(outputLine) };
      if (history.length) {
        files["wandb-history.jsonl"] = {
          offset: run.historyStep,
          content: history.map((row, i) => JSON.stringify({ ...row, _step: run.historyStep + i, _runtime: Math.max(0, row._timestamp - (execution?.started_at ?? g.lines[0]?.ts ?? Date.now()) / 1000) })),
        };
      }
      if (execution) files["wandb-summary.json"] = { offset: 0, content: [JSON.stringify({ status: execution.status, ...figuresOf(execution), error: execution.error })] };
      if (Object.keys(files).length) await this.#post(url, { files });
      run.outputOffset += g.lines.length;
      run.historyStep += history.length;
      if (g.finish) {
        await this.#post(url, { complete: true, exitcode: execution?.status === "succeeded" ? 0 : (execution?.exit_code ?? 1) || 1 });
        this.#runs.delete(executionId);
      }
    }
  }

  async #entityName(): Promise<string> {
    if (this.#entity) return this.#entity;
    const data = await this.#graphql<{ viewer: { entity: string } | null }>(VIEWER, {});
    if (!data.viewer?.entity) throw new SinkError("W&B did not say which entity the API key belongs to: set --wandb-entity", false);
    return (this.#entity = data.viewer.entity);
  }

  async #ensureRun(entity: string, executionId: string, taskId: string): Promise<RunState> {
    let run = this.#runs.get(executionId);
    if (run?.created) return run;
    const task = this.opts.tasks.of(taskId);
    const execution = this.#execution(executionId);
    const config: Record<string, { value: unknown }> = {};
    for (const [k, v] of Object.entries({
      task_id: taskId,
      task_type: task?.task_type,
      execution_id: executionId,
      attempt: execution?.attempt,
      worker_id: execution?.worker_id,
      correlation_id: task?.correlation_id,
      parent_task_id: task?.parent_task_id,
    })) {
      if (v != null) config[k] = { value: v };
    }
    await this.#graphql(UPSERT_BUCKET, {
      name: executionId,
      project: this.opts.project,
      entity,
      displayName: `${task?.title ?? taskId}${execution ? ` #${execution.attempt}` : ""}`,
      groupName: taskId,
      jobType: task?.task_type ?? null,
      config: JSON.stringify(config),
      tags: ["agentvine", ...(task ? [task.task_type] : [])],
    });
    if (!run) {
      if (this.#runs.size >= MAX_RUNS) this.#runs.delete(this.#runs.keys().next().value!);
      this.#runs.set(executionId, (run = { name: executionId, outputOffset: 0, historyStep: 0, created: false }));
    }
    run.created = true;
    return run;
  }

  #execution(id: string): ExecutionRow | null {
    try {
      return this.opts.db.sqlite
        .query<ExecutionRow, [string]>(
          "SELECT attempt, worker_id, status, exit_code, error, duration_ms, cpu_ms, max_rss_bytes, log_count, started_at, finished_at FROM executions WHERE id = ?",
        )
        .get(id);
    } catch {
      return null;
    }
  }

  async #graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const body = (await this.#post(`${this.opts.baseUrl}/graphql`, { query, variables })) as { data?: T; errors?: Array<{ message: string }> };
    if (body.errors?.length) throw new SinkError(`W&B refused: ${body.errors.map((e) => e.message).join("; ")}`, false);
    if (!body.data) throw new SinkError("W&B answered no data", true);
    return body.data;
  }

  async #post(url: string, payload: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { authorization: this.#auth, "content-type": "application/json", "user-agent": "agentvine-wandb-sink" },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new SinkError(`cannot reach ${new URL(url).origin}: ${(err as Error).message}`, true);
    }
    const text = await res.text().catch(() => "");
    // As the SDK does: 400, 401, 403, 404 and 409 are not worth retrying; the rest (5xx, 429) is.
    if (!res.ok) throw new SinkError(`${new URL(url).pathname} answered ${res.status}`, ![400, 401, 403, 404, 409].includes(res.status));
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      return {};
    }
  }
}

/** An output.log line as the SDK writes them: time, then the text; errors and warnings marked ERROR. */
function outputLine(e: LogEvent): string {
  const time = new Date(e.ts).toISOString().replace("Z", "");
  const prefix = e.level === "error" || e.level === "warn" ? "ERROR " : "";
  return `${prefix}${time} ${e.level === "debug" ? "[debug] " : ""}${e.message.replace(/\r?\n/g, " ")}\n`;
}

function figuresOf(x: ExecutionRow): Record<string, number> {
  const out: Record<string, number> = { log_lines: x.log_count };
  if (x.duration_ms != null) out.duration_seconds = x.duration_ms / 1000;
  if (x.cpu_ms != null) out.cpu_seconds = x.cpu_ms / 1000;
  if (x.max_rss_bytes != null) out.max_rss_bytes = x.max_rss_bytes;
  if (x.exit_code != null) out.exit_code = x.exit_code;
  return out;
}
