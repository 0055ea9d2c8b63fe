// Issue 10, item 7: a worker key is trusted with what an admin granted it — the capabilities its workers may
// declare and the tasks they may hold at once, all of them together — not with what a worker declares; and a
// secret reaches a remote worker only when its allow-list says so.
import { afterEach, describe, expect, test } from "bun:test";
import { bearer, errorOf, expectOk } from "../../../test/auth.ts";
import { cleanup, json, startTestApp, type TestServer } from "../../../test/helpers.ts";
import { formPost, uiClient } from "../../../test/html.ts";

afterEach(cleanup);

async function workerKey(server: TestServer, body: Record<string, unknown>): Promise<string> {
  return (await expectOk(await server.api("/api-keys", json({ name: "fleet", scope: "worker", ...body })), 201)).key;
}

const register = (server: TestServer, key: string, body: Record<string, unknown>) => server.api("/workers", bearer(key, json(body)));

describe("worker key grants", () => {
  test("a worker declaring a capability or more slots than its key was granted is refused, naming the grant", async () => {
    const server = await startTestApp();
    const key = await workerKey(server, {});
    // As in the report: before, this got a gpu task's secret and 57 of 60 queued tasks.
    const gpu = await errorOf(await register(server, key, { name: "greedy", capabilities: ["gpu"], max_concurrent_tasks: 1024 }));
    expect(gpu).toMatchObject({ status: 403, code: "forbidden" });
    expect(gpu.message).toBe("capability 'gpu' not granted: this worker key was granted capabilities [] and 8 task(s) at once (an admin sets them when creating the key)");
    const slots = await errorOf(await register(server, key, { name: "greedy", max_concurrent_tasks: 1024 }));
    expect(slots.message).toStartWith("max_concurrent_tasks 1024 is more than granted");
    expect((await expectOk(await server.api("/workers?worker_type=remote"))).total).toBe(0);
    await expectOk(await register(server, key, { name: "modest", max_concurrent_tasks: 8 }), 201);
    // An admin (not a worker key) is not bound by a key's grants.
    await expectOk(await register(server, server.token, { name: "admins", capabilities: ["gpu"], max_concurrent_tasks: 64 }), 201);
  });

  test("claims stay within the key's slots across all of its workers, and within its capabilities", async () => {
    const server = await startTestApp();
    const key = await workerKey(server, { capabilities: ["gpu"], max_concurrent_tasks: 4 });
    const a = await expectOk(await register(server, key, { name: "a", capabilities: ["gpu"], max_concurrent_tasks: 4 }), 201);
    const b = await expectOk(await register(server, key, { name: "b", capabilities: ["gpu"], max_concurrent_tasks: 4 }), 201);
    for (let i = 0; i < 60; i++) await expectOk(await server.api("/tasks", json({ title: `t${i}`, task_type: "hello", params: { name: `${i}` }, requires: i % 2 ? ["gpu"] : [] })), 201);
    const claim = async (workerId: string) => {
      const res = await server.api("/queue/claim", bearer(key, json({ worker_id: workerId, limit: 32 })));
      return res.status === 204 ? [] : ((await res.json()) as { items: unknown[] }).items;
    };
    expect((await claim(a.id)).length).toBe(4);
    expect((await claim(b.id)).length).toBe(0); // the key's 4 slots are taken, whichever worker holds them
    const held = server.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM work_orders WHERE status = 'claimed'").get()!.n;
    expect(held).toBe(4);
  });

  test("an admin grants them when creating the key: the API, the CLI flags' twin and the page answer and show them", async () => {
    const server = await startTestApp();
    const created = await expectOk(await server.api("/api-keys", json({ name: "gpu fleet", scope: "worker", capabilities: ["gpu", "git"], max_concurrent_tasks: 16 })), 201);
    expect(created.grants).toEqual({ capabilities: ["gpu", "git"], max_concurrent_tasks: 16 });
    const apiKey = await errorOf(await server.api("/api-keys", json({ name: "x", scope: "api", capabilities: ["gpu"] })));
    expect(apiKey).toMatchObject({ status: 400, message: "capabilities and max_concurrent_tasks are grants of worker keys" });
    const ui = uiClient(server);
    const res = await ui("/api-keys", formPost({ name: "from the page", scope: "worker", capabilities: "node, git", max_concurrent_tasks: "3" }));
    expect(res.status).toBe(201);
    const listed = (await expectOk(await server.api("/api-keys"))).items.find((k: { name: string }) => k.name === "from the page");
    expect(listed.grants).toEqual({ capabilities: ["node", "git"], max_concurrent_tasks: 3 });
    expect((await ui("/api-keys")).text).toContain("node, git · 3 at once");
  });

  test("a secret reaches a remote worker only when its allow-list says so", async () => {
    const server = await startTestApp();
    await expectOk(await server.api("/secrets", json({ name: "GPU_TOKEN", value: "gpu-secret-value-123" })), 201);
    const key = await workerKey(server, { capabilities: ["gpu"] });
    const w = await expectOk(await register(server, key, { name: "g", capabilities: ["gpu"] }), 201);
    const task = await expectOk(await server.api("/tasks", json({ title: "gpu", task_type: "hello", params: { name: "{{secrets.GPU_TOKEN}}" }, requires: ["gpu"] })), 201);
    const res = await server.api("/queue/claim", bearer(key, json({ worker_id: w.id })));
    expect(res.status).toBe(204);
    expect((await expectOk(await server.api(`/tasks/${task.id}`))).status).toBe("queued");
  });
});
