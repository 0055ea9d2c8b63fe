// Whether bubblewrap works on this host (probed once, with the exact flags every command gets), and which mode the server runs in.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_BWRAP, DEFAULT_PRLIMIT, sandboxPlan, type SandboxMode } from "./plan.ts";

export interface SandboxProbe {
  available: boolean;
  /** Why it is not available, in a sentence an operator can act on. */
  reason?: string;
  /** `bwrap --version`, e.g. "bubblewrap 0.8.0". */
  version?: string;
  /** Absolute paths of the helpers found; pass them as `tools` to sandboxPlan. */
  tools?: { bwrap: string; prlimit: string };
}

/** `auto` picks bwrap when the probe says it works, else runs without a sandbox (and says so). */
export type SandboxSetting = "auto" | SandboxMode;

/** The line the server prints at start when task commands run without a sandbox. */
export const NO_SANDBOX_WARNING = "no sandbox: shell tasks run as the server's OS user and can read its data dir; install bubblewrap";

export const DOCKER_SECCOMP_REASON = "bubblewrap cannot create namespaces here (under Docker run with --security-opt seccomp=unconfined)";

/** What the host told us, for explaining a failed probe. */
export interface ProbeFacts {
  stderr: string;
  exitCode: number | null;
  uid: number;
  /** `Seccomp:` of /proc/self/status: 2 = a filter is on this process (Docker's default profile is one). */
  seccompMode: number | null;
  /** /.dockerenv, /run/.containerenv, or a container runtime in /proc/1/cgroup. */
  inContainer: boolean;
  sysctl: { maxUserNamespaces: number | null; unprivilegedUsernsClone: number | null; apparmorRestrictUnprivilegedUserns: number | null };
}

/** Turns a failed probe into the reason an operator reads. Pure. */
export function explainProbeFailure(f: ProbeFacts): string {
  const said = firstLine(f.stderr).replace(/^bwrap:\s*/, "");
  const bwrapSaid = said ? ` (bwrap: ${said})` : "";
  const namespaceFailure = /namespace|uid map|gid map|operation not permitted|permission denied/i.test(f.stderr);
  if (/unknown option/i.test(f.stderr)) return `bubblewrap is too old for the sandbox's flags (0.8 or later is needed)${bwrapSaid}`;
  if (namespaceFailure && (f.seccompMode === 2 || f.inContainer)) return `${DOCKER_SECCOMP_REASON}${bwrapSaid}`;
  if (namespaceFailure && f.sysctl.maxUserNamespaces === 0) return `user namespaces are disabled (sysctl user.max_user_namespaces=0)${bwrapSaid}`;
  if (namespaceFailure && f.uid !== 0 && f.sysctl.unprivilegedUsernsClone === 0) {
    return `unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0)${bwrapSaid}`;
  }
  if (namespaceFailure && f.uid !== 0 && f.sysctl.apparmorRestrictUnprivilegedUserns === 1) {
    return `AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1: give bwrap an AppArmor profile)${bwrapSaid}`;
  }
  if (namespaceFailure) return `bubblewrap cannot create namespaces here${bwrapSaid}`;
  if (f.exitCode === null) return `bubblewrap did not finish a trivial command in time${bwrapSaid}`;
  return `bubblewrap failed to run a trivial command (exit ${f.exitCode})${bwrapSaid}`;
}

let cached: SandboxProbe | undefined;

/**
 * Is bwrap installed and able to run a command here, with the flags, mounts and limits every task command
 * gets? Runs once per process (a few milliseconds); `refresh` probes again. Given `tools` (an operator's
 * own bwrap, say), it probes those and caches nothing.
 */
export function probeSandbox(opts: { refresh?: boolean; tools?: { bwrap?: string; prlimit?: string } } = {}): SandboxProbe {
  if (opts.tools) return runProbe(opts.tools);
  if (cached && !opts.refresh) return cached;
  cached = runProbe({});
  return cached;
}

function runProbe(given: { bwrap?: string; prlimit?: string }): SandboxProbe {
  if (process.platform !== "linux") return { available: false, reason: `bubblewrap needs Linux (this is ${process.platform})` };
  const bwrap = given.bwrap ?? Bun.which("bwrap") ?? (existsSync(DEFAULT_BWRAP) ? DEFAULT_BWRAP : null);
  if (!bwrap || !existsSync(bwrap)) return { available: false, reason: `bubblewrap is not installed (${bwrap ? `no ${bwrap}` : "no bwrap on PATH"})` };
  const prlimit = given.prlimit ?? Bun.which("prlimit") ?? (existsSync(DEFAULT_PRLIMIT) ? DEFAULT_PRLIMIT : null);
  if (!prlimit || !existsSync(prlimit)) return { available: false, reason: "prlimit (util-linux) is not installed" };
  const tools = { bwrap, prlimit };
  const versionRun = Bun.spawnSync([bwrap, "--version"], { env: {}, stdout: "pipe", stderr: "pipe", timeout: 5000 });
  const version = versionRun.stdout.toString().trim() || undefined;

  const root = mkdtempSync(join(tmpdir(), "agentvine-sandbox-probe-"));
  try {
    const hidden = join(root, "data");
    const workspace = join(hidden, "workspaces", "probe");
    mkdirSync(workspace, { recursive: true });
    const plan = sandboxPlan(["/bin/sh", "-c", "echo sandbox-ok"], {
      mode: "bwrap",
      workspace,
      env: { PATH: "/usr/bin:/bin" },
      hidePaths: [hidden],
      limits: { fileSizeBytes: 1 << 20, openFiles: 256, coreBytes: 0, tmpBytes: 1 << 20 },
      tools,
    });
    const run = Bun.spawnSync(plan.argv, { env: plan.env, cwd: plan.cwd, stdout: "pipe", stderr: "pipe", timeout: 10_000 });
    const stdout = run.stdout.toString();
    if (run.exitCode === 0 && stdout.trim() === "sandbox-ok") return { available: true, version, tools };
    return { available: false, version, tools, reason: explainProbeFailure(hostFacts(run.stderr.toString(), run.exitCode)) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function hostFacts(stderr: string, exitCode: number | null): ProbeFacts {
  const status = readOr("/proc/self/status", "");
  const seccomp = /^Seccomp:\s*(\d+)/m.exec(status);
  const cgroup = readOr("/proc/1/cgroup", "");
  return {
    stderr,
    exitCode,
    uid: process.getuid?.() ?? -1,
    seccompMode: seccomp ? Number(seccomp[1]) : null,
    inContainer: existsSync("/.dockerenv") || existsSync("/run/.containerenv") || /docker|containerd|kubepods|libpod|lxc/.test(cgroup),
    sysctl: {
      maxUserNamespaces: readNumber("/proc/sys/user/max_user_namespaces"),
      unprivilegedUsernsClone: readNumber("/proc/sys/kernel/unprivileged_userns_clone"),
      apparmorRestrictUnprivilegedUserns: readNumber("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
    },
  };
}

/**
 * The mode task commands run in. `bwrap` when asked for but unavailable is an `error` (the server should
 * refuse to start rather than run commands unconfined); running without a sandbox always carries `warning`.
 */
export function resolveSandboxMode(setting: SandboxSetting, probe: SandboxProbe): { mode: SandboxMode; warning?: string; error?: string } {
  if (setting === "bwrap") {
    return probe.available ? { mode: "bwrap" } : { mode: "none", error: `sandbox 'bwrap' was asked for but ${probe.reason ?? "bubblewrap is unavailable"}` };
  }
  if (setting === "auto" && probe.available) return { mode: "bwrap" };
  const why = setting === "none" ? "sandbox set to 'none'" : probe.reason;
  return { mode: "none", warning: why ? `${NO_SANDBOX_WARNING} (${why})` : NO_SANDBOX_WARNING };
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .find(Boolean) ?? ""
  );
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

function readNumber(path: string): number | null {
  const text = readOr(path, "").trim();
  return text === "" || Number.isNaN(Number(text)) ? null : Number(text);
}
