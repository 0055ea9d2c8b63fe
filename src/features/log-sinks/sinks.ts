// The external log sinks the configuration asks for (none, OTLP, W&B or both), built with their
// counters wired to the metrics, and stopped together at shutdown.
import type { EngineDeps } from "../../engine/engine-deps.ts";
import type { LogSink } from "../../engine/task-logger.ts";
import { logger } from "../../log.ts";
import { OtlpLogSink, parseHeaderList } from "./otlp.ts";
import type { SinkCounters } from "./sink-buffer.ts";
import { TaskInfoCache } from "./task-info.ts";
import { WandbSink } from "./wandb.ts";

const log = logger("log-sinks");

export interface LogSinkConfig {
  otlpEndpoint?: string;
  /** `k=v,k2=v2`: sent with every export (a backend's key); never logged. */
  otlpHeaders?: string;
  otlpServiceName?: string;
  wandbProject?: string;
  wandbEntity?: string;
  wandbBaseUrl?: string;
  wandbApiKey?: string;
  sinkBuffer?: number;
  /** Tests: shorter waits. */
  sinkFlushIntervalMs?: number;
  sinkRetryBaseMs?: number;
}

export interface RunningSinks {
  sinks: Array<LogSink & { stop(deadlineMs?: number): Promise<void>; flush(): Promise<void> }>;
  /** Resolves once every line handed over so far was sent or given up on. */
  flush(): Promise<void>;
  stop(deadlineMs?: number): Promise<void>;
}

export function startLogSinks(
  config: LogSinkConfig,
  s: { deps: EngineDeps; version: string; instanceId: string; /** Where each sink counts what it sent, dropped and holds (the metrics). */ counters?: (sink: string) => SinkCounters },
): RunningSinks {
  const tasks = new TaskInfoCache(s.deps.db);
  const common = { maxBuffered: config.sinkBuffer, flushIntervalMs: config.sinkFlushIntervalMs, retryBaseMs: config.sinkRetryBaseMs, tasks };
  const sinks: RunningSinks["sinks"] = [];
  if (config.otlpEndpoint) {
    sinks.push(
      new OtlpLogSink({
        ...common,
        endpoint: config.otlpEndpoint,
        headers: parseHeaderList(config.otlpHeaders),
        serviceName: config.otlpServiceName,
        serviceVersion: s.version,
        instanceId: s.instanceId,
        counters: s.counters?.("otlp"),
      }),
    );
    log.info(`task log lines go to OTLP at ${new URL(config.otlpEndpoint).origin}`);
  }
  if (config.wandbProject && config.wandbApiKey) {
    sinks.push(
      new WandbSink({
        ...common,
        baseUrl: (config.wandbBaseUrl ?? "https://api.wandb.ai").replace(/\/+$/, ""),
        apiKey: config.wandbApiKey,
        project: config.wandbProject,
        entity: config.wandbEntity,
        db: s.deps.db,
        bus: s.deps.bus,
        counters: s.counters?.("wandb"),
      }),
    );
    log.info(`task log lines go to Weights & Biases project ${config.wandbProject}`);
  }
  return {
    sinks,
    async flush() {
      await Promise.all(sinks.map((sink) => sink.flush()));
    },
    async stop(deadlineMs = 5000) {
      await Promise.all(sinks.map((sink) => sink.stop(deadlineMs)));
    },
  };
}
