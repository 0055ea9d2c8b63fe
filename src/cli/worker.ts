// `agentvine worker [run]` runs a remote worker against a server; `agentvine worker status` reads what
// the worker on this state dir is doing from its status file.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { setLogLevel, type LogLevel } from "../log.ts";
import { RemoteWorker } from "../remote-worker/remote-worker.ts";
import { describeStatus, readStatus } from "../remote-worker/status-file.ts";
import type { Out } from "./common.ts";

export const WORKER_USAGE = `Usage: agentvine worker [options]         run a remote worker (until SIGTERM/SIGINT)
       agentvine worker status [--state-dir DIR] [--json]   what the worker on DIR is doing

Options (each also an environment variable):
  --server URL          AGENTVINE_SERVER (the control plane, e.g. https://agentvine.example.com)
  --token KEY           AGENTVINE_TOKEN (a worker key: on the server, an admin runs
                        agentvine apikey create NAME --scope worker --user USERNAME)
  --name N              AGENTVINE_WORKER_NAME (the host name; the same name resumes the same worker;
                        while another process runs under the name, this one waits for it to go offline)
  --capabilities a,b    AGENTVINE_CAPABILITIES (labels tasks may require, e.g. git,node)
  --concurrency N       AGENTVINE_CONCURRENCY (tasks at once; one per core)
  --state-dir DIR       AGENTVINE_WORKER_STATE_DIR (./data/worker: status file and task workspaces)
  --shutdown-grace S    AGENTVINE_SHUTDOWN_GRACE (30: how long running tasks may finish after SIGTERM)
  --log-level L         AGENTVINE_LOG_LEVEL (debug|info|warn|error)
  --sandbox MODE        AGENTVINE_SANDBOX (auto|bwrap|none: task commands in bubblewrap — auto uses it when it works)
  --sandbox-writable P  AGENTVINE_SANDBOX_WRITABLE (extra dirs task commands may write, comma separated)
  --sandbox-hide P      AGENTVINE_SANDBOX_HIDE (extra paths task commands must not see, comma separated)
  --shell-network B     AGENTVINE_SHELL_NETWORK (false: shell tasks reach the network only with "network": true)
  --workspace-retention S  AGENTVINE_WORKSPACE_RETENTION (604800: a failed execution's workspace is kept 7 days)
  --http-allow LIST     AGENTVINE_HTTP_ALLOW (internal hosts, IPs or CIDRs http tasks may reach; none by default)

SIGTERM or SIGINT drains: no new claims, running tasks finish, their outcomes are delivered, exit 0.
A second signal exits at once. A key the server refuses (401/403) exits 1.`;

const options = {
  server: { type: "string" },
  token: { type: "string" },
  name: { type: "string" },
  capabilities: { type: "string" },
  concurrency: { type: "string" },
  "state-dir": { type: "string" },
  "shutdown-grace": { type: "string" },
  "log-level": { type: "string" },
  sandbox: { type: "string" },
  "sandbox-writable": { type: "string" },
  "sandbox-hide": { type: "string" },
  "shell-network": { type: "string" },
  "workspace-retention": { type: "string" },
  "http-allow": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

export async function workerCommand(argv: string[], env: Record<string, string | undefined> = process.env, out: Out = console): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options });
  } catch (err) {
    out.error(`agentvine worker: ${(err as Error).message}\n\n${WORKER_USAGE}`);
    return 2;
  }
  const { values: o, positionals } = parsed;
  const [sub = "run", ...extra] = positionals;
  if (o.help || sub === "help") {
    out.log(WORKER_USAGE);
    return 0;
  }
  if (extra.length > 0 || (sub !== "run" && sub !== "status")) {
    out.error(`agentvine worker: unexpected '${positionals.join(" ")}'\n\n${WORKER_USAGE}`);
    return 2;
  }
  const stateDir = resolve(o["state-dir"] ?? env.AGENTVINE_WORKER_STATE_DIR ?? "./data/worker");
  if (sub === "status") return statusCommand(stateDir, o.json, out);

  const server = o.server ?? env.AGENTVINE_SERVER;
  const token = o.token ?? env.AGENTVINE_TOKEN;
  const problems: string[] = [];
  if (!server) problems.push("--server URL (or AGENTVINE_SERVER) is required: the AgentVine server to work for");
  else if (!/^https?:\/\/[^/]/.test(server)) problems.push(`--server ${server}: expected an http:// or https:// URL`);
  if (!token) problems.push("--token KEY (or AGENTVINE_TOKEN) is required: a worker key, created on the server with `agentvine apikey create NAME --scope worker --user USERNAME`");
  const concurrencyText = o.concurrency ?? env.AGENTVINE_CONCURRENCY;
  const concurrency = concurrencyText === undefined ? undefined : Number(concurrencyText);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 1024)) problems.push(`--concurrency ${concurrencyText}: expected a whole number from 1 to 1024`);
  const graceText = o["shutdown-grace"] ?? env.AGENTVINE_SHUTDOWN_GRACE ?? "30";
  const grace = Number(graceText);
  if (!(Number.isFinite(grace) && grace >= 0)) problems.push(`--shutdown-grace ${graceText}: expected seconds (0 or more)`);
  const level = o["log-level"] ?? env.AGENTVINE_LOG_LEVEL ?? "info";
  if (!["debug", "info", "warn", "error"].includes(level)) problems.push(`--log-level ${level}: expected debug, info, warn or error`);
  const capabilities = (o.capabilities ?? env.AGENTVINE_CAPABILITIES ?? "")
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  const sandbox = o.sandbox ?? env.AGENTVINE_SANDBOX ?? "auto";
  if (!["auto", "bwrap", "none"].includes(sandbox)) problems.push(`--sandbox ${sandbox}: expected auto, bwrap or none`);
  const paths = (flag: string, text: string | undefined) => {
    const list = (text ?? "").split(",").map((p) => p.trim()).filter(Boolean);
    for (const p of list) if (!p.startsWith("/")) problems.push(`--${flag} ${p}: expected an absolute path`);
    return list;
  };
  const sandboxWritable = paths("sandbox-writable", o["sandbox-writable"] ?? env.AGENTVINE_SANDBOX_WRITABLE);
  const sandboxHide = paths("sandbox-hide", o["sandbox-hide"] ?? env.AGENTVINE_SANDBOX_HIDE);
  const networkText = (o["shell-network"] ?? env.AGENTVINE_SHELL_NETWORK ?? "false").trim().toLowerCase();
  if (!["true", "1", "yes", "on", "false", "0", "no", "off"].includes(networkText)) problems.push(`--shell-network ${networkText}: expected true or false`);
  const retentionText = o["workspace-retention"] ?? env.AGENTVINE_WORKSPACE_RETENTION ?? "604800";
  const retention = Number(retentionText);
  if (!(Number.isInteger(retention) && retention >= 0)) problems.push(`--workspace-retention ${retentionText}: expected seconds (0 or more)`);
  if (problems.length) {
    out.error(problems.map((p) => `agentvine worker: ${p}`).join("\n"));
    return 2;
  }
  setLogLevel(level as LogLevel);
  // What the worker and its tasks create is its user's only (0600/0700), whatever umask it was started with.
  process.umask(0o077);

  const worker = new RemoteWorker({
    server: server!,
    token: token!,
    name: o.name ?? env.AGENTVINE_WORKER_NAME,
    capabilities,
    concurrency,
    stateDir,
    shutdownGraceMs: grace * 1000,
    sandbox: sandbox as "auto" | "bwrap" | "none",
    sandboxWritable,
    sandboxHide,
    shellNetwork: ["true", "1", "yes", "on"].includes(networkText),
    workspaceRetentionMs: retention * 1000,
    httpAllow: (o["http-allow"] ?? env.AGENTVINE_HTTP_ALLOW ?? "").split(",").map((h) => h.trim()).filter(Boolean),
  });
  if (worker.sandbox.error) {
    out.error(`agentvine worker: --sandbox bwrap: ${worker.sandbox.error}`);
    return 2;
  }
  if (worker.sandbox.warning) out.error(`agentvine worker: ${worker.sandbox.warning}`);
  let signals = 0;
  const onSignal = (signal: string) => {
    if (++signals > 1) {
      out.error(`${signal} again: exiting now`);
      process.exit(1);
    }
    out.error(`${signal}: draining — no new work; running tasks get ${grace}s (send it again to exit at once)`);
    void worker.drain();
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  await worker.start();
  return worker.done;
}

function statusCommand(stateDir: string, json: boolean, out: Out): number {
  const status = readStatus(stateDir);
  const { live, lines } = describeStatus(status, stateDir);
  if (json && status) out.log(JSON.stringify({ ...status, live }, null, 2));
  else for (const line of lines) (live ? out.log : out.error)(line);
  return live ? 0 : 1;
}
