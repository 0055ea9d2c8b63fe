// Questions for the page tests, without task threads: a task is made (it stays queued: no local threads),
// marked running as a claim would, and asks through the server's own Controller — so the request row,
// its routing, the task's `waiting_input` and every bus event are the real ones.
import type { AskInput } from "../src/features/controller/controller-deps.ts";
import type { RequestJson } from "../src/features/controller/requests.ts";
import { createUser } from "../src/features/auth/users.ts";
import { createApiKey } from "../src/features/auth/api-keys.ts";
import { SYSTEM_ACTOR } from "../src/features/audit/service.ts";
import { json, TEST_PASSWORD, type TestServer } from "./helpers.ts";

export interface AskingTask {
  task: { id: string; title: string };
  request: RequestJson;
}

export async function askingTask(server: TestServer, ask: AskInput, task: Record<string, unknown> = {}): Promise<AskingTask> {
  const res = await server.api("/tasks", json({ title: "asks a question", task_type: "hello", params: { name: "q" }, ...task }));
  if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}: ${await res.text()}`);
  const created = (await res.json()) as { id: string; title: string };
  server.db.sqlite.query("UPDATE tasks SET status = 'running', started_at = ?1, updated_at = ?1 WHERE id = ?2").run(Date.now(), created.id);
  return { task: created, request: server.services.controller.ask(created.id, null, ask) };
}

/** An `api` key of a new user with `role` (the pages take it as a bearer token). */
export async function tokenOf(server: TestServer, username: string, role: "viewer" | "operator" | "admin"): Promise<string> {
  const user = await createUser(server.services.auth, { username, password: TEST_PASSWORD, role }, SYSTEM_ACTOR);
  return createApiKey(server.services.auth, { name: username, scope: "api" }, { userId: user.id, actor: SYSTEM_ACTOR }).key;
}

export const requestRow = (server: TestServer, id: string) =>
  server.db.sqlite
    .query<{ status: string; answer: string | null; answered_by_type: string | null; answered_by_id: string | null }, [string]>(
      "SELECT status, answer, answered_by_type, answered_by_id FROM worker_requests WHERE id = ?",
    )
    .get(id)!;

export const taskStatus = (server: TestServer, id: string) => server.db.sqlite.query<{ status: string }, [string]>("SELECT status FROM tasks WHERE id = ?").get(id)?.status;
