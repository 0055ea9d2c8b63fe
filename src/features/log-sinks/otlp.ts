// The OpenTelemetry sink: task log lines exported as OTLP/HTTP logs in the JSON encoding
// (opentelemetry-proto's ExportLogsServiceRequest), so any OTLP receiver — the OpenTelemetry Collector,
// Grafana Loki, Honeycomb, Datadog, … — can take them. Batched by a SinkBuffer; only 429, 502, 503 and
// 504 are retried, as the OTLP specification says.
import { hostname } from "node:os";
import type { LogSink } from "../../engine/task-logger.ts";
import type { LogEvent } from "../../events/bus.ts";
import { SinkBuffer, SinkError, sinkTuning, type SinkTuning } from "./sink-buffer.ts";
import type { TaskInfoCache } from "./task-info.ts";

export interface OtlpSinkOptions extends SinkTuning {
  /** The logs endpoint (…/v1/logs; a bare origin gets /v1/logs appended). */
  endpoint: string;
  /** Extra request headers (an API key of the backend): never logged. */
  headers?: Record<string, string>;
  serviceName?: string;
  serviceVersion: string;
  /** This server's worker id: `service.instance.id`. */
  instanceId: string;
  tasks: TaskInfoCache;
  timeoutMs?: number;
}

/** OpenTelemetry SeverityNumber of each level (DEBUG 5, INFO 9, WARN 13, ERROR 17). */
const SEVERITY = { debug: 5, info: 9, warn: 13, error: 17 } as const;
const RETRYABLE = new Set([429, 502, 503, 504]);
const TRACE_ID = /^[0-9a-f]{32}$/;

type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } };
interface KeyValue {
  key: string;
  value: AnyValue;
}

/** A JSON value as an OTLP AnyValue (int64 as a decimal string, as the JSON mapping wants). */
export function anyValue(v: unknown, depth = 0): AnyValue {
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "number") return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (v === null || v === undefined || depth > 8) return { stringValue: v == null ? "" : JSON.stringify(v) };
  if (Array.isArray(v)) return { arrayValue: { values: v.map((x) => anyValue(x, depth + 1)) } };
  if (typeof v === "object") return { kvlistValue: { values: Object.entries(v).map(([key, x]) => ({ key, value: anyValue(x, depth + 1) })) } };
  return { stringValue: String(v) };
}

const kv = (key: string, value: unknown): KeyValue => ({ key, value: anyValue(value) });

export function logsEndpoint(url: string): string {
  const u = new URL(url);
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/v1/logs";
  return u.toString();
}

export class OtlpLogSink implements LogSink {
  readonly name = "otlp";
  readonly buffer: SinkBuffer<LogEvent>;
  readonly #endpoint: string;
  /** The endpoint as messages name it: no credentials a URL might carry (user:password@, a query). */
  readonly #shown: string;
  readonly #resource: { attributes: KeyValue[] };

  constructor(private readonly opts: OtlpSinkOptions) {
    this.#endpoint = logsEndpoint(opts.endpoint);
    const u = new URL(this.#endpoint);
    this.#shown = `${u.origin}${u.pathname}`;
    this.#resource = {
      attributes: [
        kv("service.name", opts.serviceName ?? "agentvine"),
        kv("service.version", opts.serviceVersion),
        kv("service.instance.id", opts.instanceId),
        kv("host.name", hostname()),
      ],
    };
    this.buffer = new SinkBuffer<LogEvent>({
      ...sinkTuning(opts),
      name: "otlp",
      send: (batch) => this.#send(batch),
    });
  }

  write(line: LogEvent): void {
    this.buffer.push(line);
  }

  flush(): Promise<void> {
    return this.buffer.flush();
  }

  stop(deadlineMs?: number): Promise<void> {
    return this.buffer.stop(deadlineMs);
  }

  /** The ExportLogsServiceRequest of one batch. */
  request(batch: LogEvent[], observedAt = Date.now()) {
    const observed = `${BigInt(observedAt) * 1_000_000n}`;
    const logRecords = batch.map((e) => {
      const task = this.opts.tasks.of(e.taskId);
      const attributes = [kv("agentvine.task.id", e.taskId), kv("agentvine.execution.id", e.executionId), kv("agentvine.log.seq", e.seq)];
      if (task) {
        attributes.push(kv("agentvine.task.type", task.task_type));
        if (task.correlation_id) attributes.push(kv("agentvine.correlation_id", task.correlation_id));
        if (task.parent_task_id) attributes.push(kv("agentvine.task.parent_id", task.parent_task_id));
      }
      for (const [key, value] of Object.entries(e.metadata ?? {})) if (!key.startsWith("agentvine.")) attributes.push(kv(key, value));
      const correlation = task?.correlation_id?.toLowerCase().replace(/-/g, "");
      return {
        timeUnixNano: `${BigInt(Math.trunc(e.ts)) * 1_000_000n}`,
        observedTimeUnixNano: observed,
        severityNumber: SEVERITY[e.level],
        severityText: e.level.toUpperCase(),
        body: { stringValue: e.message },
        attributes,
        // A correlation id that is a W3C trace id (32 hex digits) joins the lines to that trace.
        ...(correlation && TRACE_ID.test(correlation) ? { traceId: correlation } : {}),
      };
    });
    return {
      resourceLogs: [{ resource: this.#resource, scopeLogs: [{ scope: { name: "agentvine.task-log", version: this.opts.serviceVersion }, logRecords }] }],
    };
  }

  async #send(batch: LogEvent[]): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.#endpoint, {
        method: "POST",
        headers: { ...this.opts.headers, "content-type": "application/json" },
        body: JSON.stringify(this.request(batch)),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new SinkError(`cannot reach ${this.#shown}: ${(err as Error).message}`, true);
    }
    await res.arrayBuffer().catch(() => undefined); // free the connection
    if (res.ok) return;
    throw new SinkError(`${this.#shown} answered ${res.status}`, RETRYABLE.has(res.status));
  }
}

/** `k=v,k2=v2` (OTEL_EXPORTER_OTLP_HEADERS' format, values URL-encoded) → headers. */
export function parseHeaderList(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const eq = pair.indexOf("=");
    if (eq < 1) continue;
    out[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return out;
}
