// `plan`: the parent task of a plan run. It never runs in a thread: each step is a child task, and
// the parent's status follows its children (src/engine/parent-status.ts).
import { z } from "zod";
import { defineTaskType } from "./types.ts";

export const PlanRunParams = z.strictObject({
  plan_id: z.string(),
  plan_name: z.string(),
  version: z.number().int().min(1),
  inputs: z.record(z.string(), z.unknown()).default({}),
});

export default defineTaskType({
  name: "plan",
  description: "A run of a plan: one child task per step (start it with POST /plans/:id/run)",
  params: PlanRunParams,
  kind: "parent",
  run() {
    throw new Error("a plan run is not executed by a thread; its steps are");
  },
});
