// `hello`: the smallest task type — greets by name; the first thing a newcomer runs.
import { z } from "zod";
import { defineTaskType } from "./types.ts";

export default defineTaskType({
  name: "hello",
  description: "Greets someone: result {message: 'Hello, <name>!'}",
  params: z.strictObject({ name: z.string().min(1).max(200).describe("Who to greet") }),
  run(ctx) {
    ctx.log.info(`Saying hello to ${ctx.params.name}`);
    return { message: `Hello, ${ctx.params.name}!` };
  },
});
