// The coding agents' own cost, with a scripted fake model on loopback that answers at once:
//   (1) loop overhead per step, excluding the model: a docs agent (read permission) takes S steps of one
//       cheap tool call each; overhead = (task time − the model calls' time as the gateway measured it) / S;
//   (2) 50 agents at once on one server (as many threads): steps per second and the server's memory.
// Target (issue 13): < 20 ms overhead per step.
//
//   bun bench/agents.ts [--steps 50] [--agents 50] [--agent-steps 10]
import { parseArgs } from "node:util";
import { join } from "node:path";
import { mkdirSync, writeFileSync } from "node:fs";
import { createApiKey } from "../src/features/auth/api-keys.ts";
import { createUser } from "../src/features/auth/users.ts";
import { SYSTEM_ACTOR } from "../src/features/audit/service.ts";
import { embeddedServerOptions, startServer } from "../src/server.ts";
import { startFakeLlm } from "../test/fake-llm/server.ts";
import { FAKE_API_KEY } from "../test/fake-llm/settings.ts";
import { cleanupTemp, hardLimit, machineNote, nowMs, table, tempDir } from "./lib.ts";

const { values: args } = parseArgs({ options: { steps: { type: "string", default: "50" }, agents: { type: "string", default: "50" }, "agent-steps": { type: "string", default: "10" } } });
const STEPS = Number(args.steps);
const AGENTS = Number(args.agents);
const AGENT_STEPS = Number(args["agent-steps"]);
hardLimit(8 * 60_000, "agents");

function repo(): string {
  const dir = tempDir("agentvine-bench-repo-");
  const run = (...a: string[]) => Bun.spawnSync(["git", ...a], { cwd: dir, env: { PATH: process.env.PATH!, HOME: dir, GIT_AUTHOR_NAME: "b", GIT_AUTHOR_EMAIL: "b@b", GIT_COMMITTER_NAME: "b", GIT_COMMITTER_EMAIL: "b@b" } });
  run("init", "-q", "-b", "main");
  mkdirSync(join(dir, "src"));
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, "src", `file${i}.js`), `export const v${i} = ${i};\n`);
  writeFileSync(join(dir, "README.md"), "# bench\n");
  run("add", "-A");
  run("commit", "-q", "-m", "init");
  return dir;
}

await machineNote("agents");
const fake = startFakeLlm();
// Each step lists files; the last one finishes. The answer comes at once (no delay): what remains is ours.
fake.respond((req) => {
  const calls = req.body.messages.filter((m: { role: string }) => m.role === "assistant").length;
  const max = Number(/max-steps=(\d+)/.exec(req.promptText)?.[1] ?? STEPS);
  return calls + 1 >= max ? { toolCalls: [{ name: "finish", input: { summary: "done" } }] } : { toolCalls: [{ name: "list_files", input: { path: "src", depth: 1 } }] };
});
const server = await startServer(
  embeddedServerOptions(tempDir(), {
    workers: Math.max(AGENTS, 2),
    shutdownGraceSeconds: 1,
    builtinPlans: false,
    llmProvider: "anthropic",
    llmBaseUrl: fake.anthropicBaseUrl,
    llmModel: "fake",
    llmApiKey: FAKE_API_KEY,
  }),
);
const auth = server.services.auth;
const admin = await createUser(auth, { username: "bench", password: "violet tractor umbrella 42", role: "admin" }, SYSTEM_ACTOR);
const token = createApiKey(auth, { name: "bench", scope: "api" }, { userId: admin.id, actor: SYSTEM_ACTOR }).key;
const api = (path: string, init: RequestInit = {}) => fetch(`${server.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
const db = server.db.sqlite;

async function runAgent(repository: string, steps: number) {
  const res = await api("/tasks", { method: "POST", body: JSON.stringify({ title: "bench", task_type: "docs", permission_level: "read", repository_url: repository, timeout_seconds: 3600, params: { instruction: `Look around. max-steps=${steps}`, max_steps: steps + 5 } }) });
  const id = ((await res.json()) as { id: string }).id;
  const done = (await (await api(`/tasks/${id}/wait?timeout=300`)).json()) as { status: string; error?: string; started_at: string; finished_at: string };
  if (done.status !== "succeeded") throw new Error(`agent ended ${done.status}: ${done.error}`);
  return id;
}

// ---- (1) overhead per step ------------------------------------------------------------------------
const r1 = repo();
await runAgent(r1, 3); // warm-up: the clone is cached, threads and the SDK loaded
const t0 = nowMs();
const id = await runAgent(r1, STEPS);
const total = nowMs() - t0;
const model = db.query<{ ms: number; n: number }, [string]>("SELECT sum(duration_ms) AS ms, count(*) AS n FROM agent_steps WHERE task_id = ? AND kind = 'model'").get(id)!;
const perStep = (total - model.ms) / model.n;
console.log(`\n## One agent, ${model.n} steps of one list_files each (fake model answering at once)`);
table(
  ["task wall ms", "model calls ms (gateway)", "steps", "overhead ms per step (all but the model)", "of which: worktree, tests, commit once"],
  [[total, model.ms, model.n, perStep, "included"]],
);

// ---- (2) many agents at once ----------------------------------------------------------------------
const repos = Array.from({ length: Math.min(AGENTS, 5) }, () => repo());
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
const t1 = nowMs();
const ids = await Promise.all(Array.from({ length: AGENTS }, (_, i) => runAgent(repos[i % repos.length]!, AGENT_STEPS)));
const wall = (nowMs() - t1) / 1000;
clearInterval(sampler);
const steps = db.query<{ n: number }, []>(`SELECT count(*) AS n FROM agent_steps WHERE kind = 'model' AND task_id IN (${ids.map(() => "?").join(",")})`).get(...(ids as []))!.n;
console.log(`\n## ${AGENTS} agents at once, ${AGENT_STEPS} steps each, on ${repos.length} repositories (${AGENTS} task threads)`);
table(
  ["agents", "model steps", "seconds", "steps/s", "server RSS before MB", "peak MB", "per agent MB"],
  [[AGENTS, steps, wall, steps / wall, rssBefore / 1e6, rssPeak / 1e6, (rssPeak - rssBefore) / 1e6 / AGENTS]],
);
console.log(`\nTarget: agent loop overhead per step < 20 ms → ${perStep.toFixed(2)} ms ${perStep < 20 ? "MET" : "MISSED"}`);
await server.stop(1);
await fake.stop();
cleanupTemp();
process.exit(0);
