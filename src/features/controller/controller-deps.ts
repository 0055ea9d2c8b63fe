// What the controller is given (its dependencies, each explicit) and what a task asks with.
import type { EngineDeps } from "../../engine/engine-deps.ts";
import type { TaskLogger } from "../../engine/task-logger.ts";
import type { LlmSettings } from "../../llm/index.ts";
import type { BudgetLimits } from "./budgets.ts";
import type { ContextSource, Masker } from "./context-manager.ts";
import type { WebhookSettings } from "./webhook.ts";

/** What a task asks: `ctx.ask(…)`, `POST /requests`, or an `ask` step. */
export interface AskInput {
  question: string;
  category?: string | null;
  options?: string[];
  context?: unknown;
  /** How long the question may stay open; default: the matching policy's timeout. */
  deadline_seconds?: number | null;
  /** The task's own name for the question: asked again under it (a retry), the recorded answer comes back. */
  key?: string | null;
}

export interface ControllerDeps extends EngineDeps {
  clock: () => number;
  /** The model the automated handler uses; null: none configured (automated questions go to a human). */
  llm: () => LlmSettings | null;
  budgets: () => BudgetLimits;
  webhook: () => WebhookSettings | null;
  masker?: Masker;
  /** Questions and answers are written to the asking execution's log too. */
  logger?: TaskLogger;
  /** The server's address for links in webhooks. */
  publicUrl?: () => string | null;
  sources?: ContextSource[];
  /** The automated handler's first backoff (tests make it tiny). */
  retryBaseMs?: number;
}

