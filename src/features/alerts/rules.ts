// The alert rules: what each watches, its thresholds (defaults on; an admin changes them on the Alerts page
// or with PUT /api/v1/alerts/rules — saved in the `settings` table over these defaults), and how long a
// condition must hold before the alert fires.
import { z } from "zod";
import type { Db } from "../../db/client.ts";
import { readSetting, writeSetting } from "../settings/store.ts";
import type { Acting } from "../audit/service.ts";

const minutes = (max: number) => z.number().min(0).max(max);

/** Each rule's settings; every field has a default, so `{}` is the rule as shipped. */
export const RuleSettings = {
  queue_depth: z.strictObject({
    enabled: z.boolean().default(true),
    threshold: z.number().int().min(0).max(100_000_000).default(100).describe("Claimable work orders (queued, not in backoff)"),
    for_minutes: minutes(1440).default(5).describe("How long the depth must stay over the threshold"),
  }),
  oldest_queued: z.strictObject({
    enabled: z.boolean().default(true),
    max_age_minutes: minutes(100_000).default(15).describe("Age of the oldest claimable work order"),
  }),
  worker_offline: z.strictObject({
    enabled: z.boolean().default(true),
    for_minutes: minutes(1440).default(1).describe("How long a remote worker must stay offline (not drained) before it alerts"),
  }),
  failure_rate: z.strictObject({
    enabled: z.boolean().default(true),
    percent: z.number().min(0).max(100).default(50).describe("Failed or timed-out share of the tasks that finished in the window"),
    window_minutes: minutes(10_080).min(1).default(15),
    min_tasks: z.number().int().min(1).max(1_000_000).default(10).describe("Fewer finished tasks than this never alert"),
  }),
  question_overdue: z.strictObject({
    enabled: z.boolean().default(true),
    grace_minutes: minutes(1440).default(1).describe("An open question this long past its deadline (the deadline timer did not resolve it)"),
  }),
  disk_space: z.strictObject({
    enabled: z.boolean().default(true),
    min_free_percent: z.number().min(0).max(100).default(10).describe("Free space of the data directory's file system"),
    min_free_mb: z.number().min(0).max(1e9).default(1024).describe("…or free megabytes: below either one alerts"),
  }),
};

export type RuleName = keyof typeof RuleSettings;
export const RULE_NAMES = Object.keys(RuleSettings) as RuleName[];
export type RuleConfig = { [K in RuleName]: z.infer<(typeof RuleSettings)[K]> };

export const RULE_TITLES: Record<RuleName, { title: string; severity: "warning" | "critical"; what: string }> = {
  queue_depth: { title: "Queue depth", severity: "warning", what: "more than N claimable work orders for M minutes" },
  oldest_queued: { title: "Oldest queued", severity: "warning", what: "a claimable work order has waited longer than T" },
  worker_offline: { title: "Worker offline", severity: "warning", what: "a remote worker stopped heartbeating (and was not drained)" },
  failure_rate: { title: "Failure rate", severity: "critical", what: "more than X% of the tasks that finished in the window failed" },
  question_overdue: { title: "Question past its deadline", severity: "warning", what: "an open question is past its deadline" },
  disk_space: { title: "Disk nearly full", severity: "critical", what: "the data directory's file system is nearly full" },
};

/** PUT /alerts/rules: any rule, any of its fields (the rest keep their value). */
export const RulesPatch = z.strictObject(
  Object.fromEntries(RULE_NAMES.map((name) => [name, RuleSettings[name].partial().optional()])) as { [K in RuleName]: z.ZodOptional<z.ZodObject<any>> },
);

const SETTING = "alerts.rules";

/** The rules as they stand: saved settings over the defaults. */
export function effectiveRules(deps: { db: Db }): RuleConfig {
  const saved = readSetting<Partial<Record<RuleName, Record<string, unknown>>>>(deps, SETTING) ?? {};
  const out = {} as Record<RuleName, unknown>;
  for (const name of RULE_NAMES) {
    const parsed = RuleSettings[name].safeParse(saved[name] ?? {});
    out[name] = parsed.success ? parsed.data : RuleSettings[name].parse({});
  }
  return out as RuleConfig;
}

/** Merges `patch` into the saved rules (checked again whole); audited as settings.updated. */
export function saveRules(deps: { db: Db; clock?: () => number }, patch: Partial<Record<RuleName, Record<string, unknown>>>, acting?: Acting): RuleConfig {
  const current = effectiveRules(deps);
  const next = {} as Record<RuleName, unknown>;
  for (const name of RULE_NAMES) next[name] = RuleSettings[name].parse({ ...current[name], ...(patch[name] ?? {}) });
  writeSetting(deps, SETTING, next, acting, { rules: patch });
  return next as RuleConfig;
}
