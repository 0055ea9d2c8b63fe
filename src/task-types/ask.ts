// `ask`: a question as a plan step — an approval gate ("deploy after a human approves") with no code. The
// controller routes it by policy; the result is the resolution; answers listed in `fail_on` fail the task.
import { z } from "zod";
import { defineTaskType, TaskFailure } from "./types.ts";

export const AskParams = z
  .strictObject({
    question: z.string().trim().min(1).max(20_000).describe("What to ask"),
    options: z.array(z.string().trim().min(1).max(500)).max(20).optional().describe("Answers to choose from, e.g. [\"approve\", \"reject\"]"),
    category: z.string().trim().min(1).max(100).default("approval").describe("What a policy matches on (default: approval)"),
    deadline_seconds: z.number().int().min(1).max(30 * 24 * 3600).optional().describe("How long to wait; default: the policy's timeout"),
    fail_on: z.array(z.string().trim().min(1).max(500)).max(20).default([]).describe("Answers that fail the task (a denial always does)"),
  })
  .refine((p) => !p.options || p.fail_on.every((a) => p.options!.includes(a)), { message: "every fail_on answer must be one of the options", path: ["fail_on"] });

export default defineTaskType({
  name: "ask",
  description: "Asks a question (an approval gate in a plan) and succeeds with the answer; fail_on answers or a denial fail it",
  params: AskParams,
  async run(ctx) {
    const p = ctx.params;
    // Keyed by the attempt-independent task id: a retried step does not ask twice what was answered.
    const answer = await ctx.ask({ question: p.question, options: p.options, category: p.category, deadline_seconds: p.deadline_seconds, key: "ask" });
    const result = { answer: answer.answer, answered_by: answer.answered_by, request_id: answer.request_id, status: answer.status };
    if (answer.status === "cancelled") throw new TaskFailure("the question was cancelled", { result, retryable: false });
    if (answer.denied) throw new TaskFailure(`denied${answer.answered_by?.type === "timeout" ? " (the deadline passed)" : " by policy"}`, { result, retryable: false });
    if (answer.answer !== null && p.fail_on.includes(answer.answer)) throw new TaskFailure(`answered "${answer.answer}", which fails this step`, { result, retryable: false });
    ctx.log.info(`answered "${answer.answer}" by ${answer.answered_by?.type ?? "nobody"}`);
    return result;
  },
});
