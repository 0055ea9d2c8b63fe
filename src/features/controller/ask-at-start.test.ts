// A task that asks the moment it starts: its start may still be waiting for the local runner's group
// commit, and the controller lets only a running task ask — so the runner records the start first.
import { afterEach, expect, test } from "bun:test";
import { cleanup, json, startTestServer } from "../../../test/helpers.ts";

afterEach(cleanup);

test("thirty `ask` tasks submitted at once each ask from their first instant, and all get their answer", async () => {
  const server = await startTestServer({ workers: 2 });
  await server.api("/policies", json({ name: "smoke approves", match: { category: "smoke" }, action: "auto_approve" }));
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await server.api("/tasks", json({ title: `gate ${i}`, task_type: "ask", params: { question: "Go?", options: ["go", "stop"], category: "smoke" } }));
    ids.push(((await res.json()) as { id: string }).id);
  }
  const done = await Promise.all(ids.map(async (id) => (await (await server.api(`/tasks/${id}/wait?timeout=30`)).json()) as { status: string; error: string | null }));
  expect(done.filter((t) => t.status !== "succeeded").map((t) => t.error)).toEqual([]);
});
