// `agentvine worker [run]` runs a remote worker against a server; `agentvine worker status` reads what
// the worker on this state dir is doing from its status file; `agentvine worker stop` drains it.
import { existsSync, readFileSync, watch } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { configureLogging, LOG_FORMATS, type LogFormat, type LogLevel } from "../log.ts";
import { RemoteWorker } from "../remote-worker/remote-worker.ts";
import { describeStatus, readStatus } from "../remote-worker/status-file.ts";
import { flagProblem, tokenFrom, UsageError, type Out } from "./common.ts";

export const WORKER_USAGE = `Usage: agentvine worker [options]         run a remote worker (until SIGTERM/SIGINT)
       agentvine worker status [--state-dir DIR] [--json]   what the worker on DIR is doing
       agentvine worker stop [--state-dir DIR] [--timeout S]  drain the worker on DIR and wait until it exits

Options (each also an environment variable):
  --server URL          AGENTVINE_SERVER (the control plane, e.g. https://agentvine.example.com)
  --token-file PATH     AGENTVINE_TOKEN_FILE (a file holding the worker key, e.g. mode 600), or the key
                        itself in AGENTVINE_TOKEN. A worker key: on the server, an admin runs
                        agentvine apikey create NAME --scope worker --user USERNAME
  --token KEY           the key on the command line: every user of this machine sees it in \`ps\`
  --name N              AGENTVINE_WORKER_NAME (the host name; the same name resumes the same worker;
                        while another process runs under the name, this one waits for it to go offline)
  --capabilities a,b    AGENTVINE_CAPABILITIES (labels tasks may require, e.g. git,node)
  --concurrency N       AGENTVINE_CONCURRENCY (tasks at once; one per core)
  --state-dir DIR       AGENTVINE_WORKER_STATE_DIR (./data/worker: status file and task workspaces)
  --shutdown-grace S    AGENTVINE_SHUTDOWN_GRACE (30: how long running tasks may finish after SIGTERM)
  --log-level L         AGENTVINE_LOG_LEVEL (debug|info|warn|error)
  --log-format F        AGENTVINE_LOG_FORMAT (auto|json|pretty; auto: readable on a terminal, JSON otherwise)
  --timeout S           worker stop: how long to wait for the drain (60; the worker's --shutdown-grace
                        bounds its running tasks)
  --sandbox MODE        AGENTVINE_SANDBOX (auto|bwrap|none: task commands in bubblewrap — auto uses it when it works)
  --sandbox-writable P  AGENTVINE_SANDBOX_WRITABLE (extra dirs task commands may write, comma separated)
  --sandbox-hide P      AGENTVINE_SANDBOX_HIDE (extra paths task commands must not see, comma separated)
  --shell-network B     AGENTVINE_SHELL_NETWORK (false: shell tasks reach the network only with "network": true)
  --workspace-retention S  AGENTVINE_WORKSPACE_RETENTION (604800: a failed execution's workspace is kept 7 days)
  --http-allow LIST     AGENTVINE_HTTP_ALLOW (internal hosts, IPs or CIDRs http tasks may reach; none by default)

SIGTERM or SIGINT (or \`agentvine worker stop\`) drains: no new claims, running tasks finish, their outcomes are delivered, exit 0.
A second signal exits at once. A key the server refuses (401/403) exits 1.`;

/** Every AGENTVINE_* variable `agentvine worker` reads: those its usage names (what .env.example and compose.yaml are checked against). */
export const WORKER_ENV_NAMES: readonly string[] = [...new Set(WORKER_USAGE.match(/AGENTVINE_[A-Z_]+/g) ?? [])];

/** The worker's flags (exported for the compose file's test). */
export const WORKER_OPTIONS = {
  server: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  name: { type: "string" },
  capabilities: { type: "string" },
  concurrency: { type: "string" },
  "state-dir": { type: "string" },
  "shutdown-grace": { type: "string" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  timeout: { type: "string" },
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
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: WORKER_OPTIONS });
  } catch (err) {
    out.error(`agentvine worker: ${flagProblem(err)} (see agentvine worker --help)`);
    return 2;
  }
  const { values: o, positionals } = parsed;
  const [sub = "run", ...extra] = positionals;
  if (o.help || sub === "help") {
    out.log(WORKER_USAGE);
    return 0;
  }
  if (extra.length > 0 || !["run", "status", "stop"].includes(sub)) {
    out.error(`agentvine worker: unexpected '${positionals.join(" ")}' (see agentvine worker --help)`);
    return 2;
  }
  const stateDir = resolve(o["state-dir"] ?? env.AGENTVINE_WORKER_STATE_DIR ?? "./data/worker");
  if (sub === "status") return statusCommand(stateDir, o.json, out);
  if (sub === "stop") {
    const timeout = Number(o.timeout ?? 60);
    if (!(Number.isFinite(timeout) && timeout > 0)) {
      out.error(`agentvine worker stop: --timeout ${o.timeout}: expected seconds (more than 0)`);
      return 2;
    }
    return stopCommand(stateDir, timeout * 1000, out);
  }

  const server = o.server ?? env.AGENTVINE_SERVER;
  const problems: string[] = [];
  let token: string | undefined;
  try {
    token = tokenFrom(o, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    problems.push(err.message);
  }
  if (o.token) out.error("agentvine worker: warning: --token on the command line is visible to every user of this machine (ps); use AGENTVINE_TOKEN or --token-file");
  if (!server) problems.push("--server URL (or AGENTVINE_SERVER) is required: the AgentVine server to work for");
  else if (!/^https?:\/\/[^/]/.test(server)) problems.push(`--server ${server}: expected an http:// or https:// URL`);
  if (!token && problems.length === 0) problems.push("a worker key is required (AGENTVINE_TOKEN, --token-file PATH or --token KEY), created on the server with `agentvine apikey create NAME --scope worker --user USERNAME`");
  const concurrencyText = o.concurrency ?? env.AGENTVINE_CONCURRENCY;
  const concurrency = concurrencyText === undefined ? undefined : Number(concurrencyText);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 1024)) problems.push(`--concurrency ${concurrencyText}: expected a whole number from 1 to 1024`);
  const graceText = o["shutdown-grace"] ?? env.AGENTVINE_SHUTDOWN_GRACE ?? "30";
  const grace = Number(graceText);
  if (!(Number.isFinite(grace) && grace >= 0)) problems.push(`--shutdown-grace ${graceText}: expected seconds (0 or more)`);
  const level = o["log-level"] ?? env.AGENTVINE_LOG_LEVEL ?? "info";
  if (!["debug", "info", "warn", "error"].includes(level)) problems.push(`--log-level ${level}: expected debug, info, warn or error`);
  const format = o["log-format"] ?? env.AGENTVINE_LOG_FORMAT ?? "auto";
  if (!(LOG_FORMATS as readonly string[]).includes(format)) problems.push(`--log-format ${format}: expected auto, json or pretty`);
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
  configureLogging({ level: level as LogLevel, format: format as LogFormat });
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

/** Whether `pid` is a live process that looks like an `agentvine worker` (so a reused pid is never signalled). */
function isWorkerProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync("/proc/self/cmdline")) return true; // no /proc (macOS): trust the live status file
  try {
    return readFileSync(cmdline, "utf8").split("\0").includes("worker");
  } catch {
    return false;
  }
}

/**
 * Drains the worker running on `stateDir` (SIGTERM to the pid its status file names, exactly what a
 * service manager sends) and waits until it says it stopped or its process is gone.
 */
async function stopCommand(stateDir: string, timeoutMs: number, out: Out): Promise<number> {
  const status = readStatus(stateDir);
  if (!status) {
    out.error(`no worker status in ${stateDir}: no worker has run with this --state-dir`);
    return 1;
  }
  const { live } = describeStatus(status, stateDir);
  if (!live || !isWorkerProcess(status.pid)) {
    out.log(`the worker on ${stateDir} is not running (${status.state === "stopped" ? "it stopped" : "its status is stale"}): nothing to stop`);
    return 0;
  }
  try {
    process.kill(status.pid, "SIGTERM");
  } catch (err) {
    out.error(`cannot signal the worker (pid ${status.pid}): ${(err as Error).message}`);
    return 1;
  }
  out.log(`draining worker ${status.name} (pid ${status.pid}): no new work; ${status.running.length} running task(s) finish first…`);
  const stopped = await new Promise<boolean>((done) => {
    const check = () => {
      const now = readStatus(stateDir);
      if (now?.state === "stopped" || !isWorkerProcess(status.pid)) finish(true);
    };
    // The worker rewrites status.json on every change; a process that dies without writing is caught
    // by the liveness check that runs with each look (and at least every 250 ms).
    const watcher = watch(stateDir, () => check());
    const tick = setInterval(check, 250);
    const timer = setTimeout(() => finish(false), timeoutMs);
    let settled = false;
    function finish(ok: boolean) {
      if (settled) return;
      settled = true;
      watcher.close();
      clearInterval(tick);
      clearTimeout(timer);
      done(ok);
    }
    check();
  });
  if (!stopped) {
    out.error(`the worker (pid ${status.pid}) is still draining after ${Math.round(timeoutMs / 1000)}s: its tasks are still running; run stop again to wait longer, or send SIGTERM twice to exit at once`);
    return 1;
  }
  out.log(`worker ${status.name} stopped`);
  return 0;
}
