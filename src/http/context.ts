// The typed context every route sees: `c.var.deps`, `c.var.config`, … set once per request by createApp.
import type { ServeConfig } from "../config.ts";
import type { EngineDeps } from "../engine/lifecycle.ts";
import type { SubmitBatcher } from "../engine/submit-batcher.ts";
import type { TaskLogger } from "../engine/task-logger.ts";
import type { TaskWaiters } from "../features/tasks/service.ts";
import type { WorkerPool } from "../runtime/pool.ts";

export type AppConfig = Pick<ServeConfig, "defaultTimeoutSeconds" | "defaultMaxRetries" | "maxBodyBytes" | "dataDir">;

export interface AppServices {
  deps: EngineDeps;
  config: AppConfig;
  logger: TaskLogger;
  waiters: TaskWaiters;
  /** Group-commits concurrent task submissions. */
  submitter: SubmitBatcher;
  pool: WorkerPool | null;
  workerId: string;
  version: string;
  startedAt: number;
}

export type AppEnv = {
  Variables: AppServices & {
    requestId: string;
    /** Lifts Bun's idle timeout for this request (long-polls and event streams). */
    holdOpen: () => void;
  };
};
