// Issue 10, item 11: `http` tasks do not reach loopback, link-local or private addresses unless an admin
// allows them (--http-allow) — checked on the address a name resolves to, and on every redirect; a redirect
// to another origin carries neither the task's headers nor its body.
import { afterEach, describe, expect, test } from "bun:test";
import { expectOk } from "./auth.ts";
import { cleanup, json, startTestServer, type TestServer } from "./helpers.ts";
import { allowedInternal, internalRange, resolveDestination } from "../src/task-types/http-guard.ts";
import type { TaskJson } from "../src/engine/task-record.ts";

const stops: Array<() => void> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s();
  await cleanup();
});

function listen(hostname: string, fetch: (req: Request) => Response) {
  const server = Bun.serve({ port: 0, hostname, fetch });
  stops.push(() => server.stop(true));
  return `http://${hostname}:${server.port}`;
}

async function httpTask(server: TestServer, params: Record<string, unknown>): Promise<TaskJson & { result: any }> {
  const task = await expectOk(await server.api("/tasks", json({ title: "call", task_type: "http", params })), 201);
  return expectOk(await server.api(`/tasks/${task.id}/wait?timeout=30`));
}

describe("which addresses are internal", () => {
  test("loopback, private, link-local, CGNAT, unique-local, IPv4-mapped and unspecified are; public ones are not", () => {
    for (const ip of ["127.0.0.1", "127.9.9.9", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:a9fe:a9fe"]) {
      expect({ ip, internal: internalRange(ip) !== null }).toEqual({ ip, internal: true });
    }
    for (const ip of ["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) expect({ ip, range: internalRange(ip) }).toEqual({ ip, range: null });
    expect(internalRange("169.254.169.254")).toContain("link-local");
  });

  test("the admin's list: host names, wildcards, addresses and CIDRs", () => {
    const allow = ["vault.internal", "*.svc.local", "10.0.0.0/8", "192.168.1.5", "fd00::/8"];
    expect(allowedInternal("vault.internal", "10.9.9.9", allow)).toBe(true);
    expect(allowedInternal("a.svc.local", "172.16.0.1", allow)).toBe(true);
    expect(allowedInternal("other", "10.200.0.1", allow)).toBe(true);
    expect(allowedInternal("other", "192.168.1.5", allow)).toBe(true);
    expect(allowedInternal("other", "fd00::1", allow)).toBe(true);
    expect(allowedInternal("other", "192.168.1.6", allow)).toBe(false);
    expect(allowedInternal("svc.local", "172.16.0.1", allow)).toBe(false);
  });

  test("a name is refused when any address it resolves to is internal (a resolver that mixes in a private one)", async () => {
    const resolve = async () => [
      { address: "93.184.216.34", family: 4 },
      { address: "10.0.0.7", family: 4 },
    ];
    await expect(resolveDestination(new URL("http://rebind.example/"), [], resolve)).rejects.toThrow("refused to connect to rebind.example (it resolves to 10.0.0.7): a private address (10.0.0.0/8)");
    expect(await resolveDestination(new URL("http://rebind.example/"), ["10.0.0.0/8"], resolve)).toEqual({ address: "93.184.216.34", family: 4 });
  });
});

describe("http tasks", () => {
  test("by default a task cannot reach the server's own API, loopback by name, or the metadata address", async () => {
    const server = await startTestServer({ httpAllow: [] });
    const direct = await httpTask(server, { url: `${server.url}/api/v1/health` });
    expect(direct.status).toBe("failed");
    expect(direct.error).toBe(`request failed: refused to connect to 127.0.0.1: a loopback address (127.0.0.0/8); http tasks reach only public addresses unless an admin allows this one with --http-allow`);
    expect(direct.attempts).toBe(1); // not retried: it cannot succeed
    const byName = await httpTask(server, { url: `http://localhost:${server.port}/api/v1/health` });
    expect(byName.error).toContain("refused to connect to localhost (it resolves to");
    expect((await httpTask(server, { url: "http://169.254.169.254/latest/meta-data/" })).error).toContain("a link-local address (cloud metadata lives here)");
  });

  test("an allowed internal host is reached; a redirect from it to a host not allowed is refused", async () => {
    const secret = listen("127.0.0.2", () => new Response("internal secret"));
    const entry = listen("127.0.0.1", () => new Response(null, { status: 302, headers: { location: `${secret}/` } }));
    const server = await startTestServer({ httpAllow: ["127.0.0.1"] });
    const done = await httpTask(server, { url: `${entry}/start`, follow_redirects: false, expected_status: 302 });
    expect(done.status).toBe("succeeded");
    const followed = await httpTask(server, { url: `${entry}/start` });
    expect(followed.status).toBe("failed");
    expect(followed.error).toContain("refused to connect to 127.0.0.2: a loopback address");
    expect(JSON.stringify(followed)).not.toContain("internal secret");
  });

  test("a redirect to another origin carries neither the task's headers nor its body", async () => {
    const seen: Array<{ auth: string | null; method: string }> = [];
    const other = listen("127.0.0.2", (req) => {
      seen.push({ auth: req.headers.get("authorization"), method: req.method });
      return new Response("ok");
    });
    const entry = listen("127.0.0.1", () => new Response(null, { status: 303, headers: { location: `${other}/next` } }));
    const server = await startTestServer({ httpAllow: ["127.0.0.1", "127.0.0.2"] });
    const done = await httpTask(server, { url: `${entry}/`, method: "POST", body: { a: 1 }, headers: { authorization: "Bearer task-credential" } });
    expect(done.status).toBe("succeeded");
    expect(seen).toEqual([{ auth: null, method: "GET" }]);
  });
});
