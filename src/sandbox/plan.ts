// The spawn plan for one task command: the argv and environment that run it inside bubblewrap, or, without it, in its own process group.
import { isAbsolute, normalize, sep } from "node:path";

export type SandboxMode = "bwrap" | "none";

/** Resource caps applied with prlimit(1) to the command and everything it starts. */
export interface SandboxLimits {
  /** CPU time; SIGKILL at the limit (soft = hard). */
  cpuSeconds?: number;
  /** Virtual memory (RLIMIT_AS). */
  addressSpaceBytes?: number;
  /** Processes of the sandbox's uid (RLIMIT_NPROC). Not enforced for uid 0: the kernel exempts root. */
  processes?: number;
  /** Largest file the command may write (a write past it gets SIGXFSZ / EFBIG). */
  fileSizeBytes?: number;
  openFiles?: number;
  /** Core dump size; 0 keeps a crashing command from handing its memory to the host's core handler. */
  coreBytes?: number;
  /** Size of the private /tmp (a tmpfs, so it is memory). bwrap mode only. */
  tmpBytes?: number;
}

export interface SandboxOptions {
  mode: SandboxMode;
  /** Absolute; bound read-write at the same path, and the default working directory. */
  workspace: string;
  /** Absolute, inside the workspace. Defaults to the workspace. */
  cwd?: string;
  /** The ONLY environment the command sees (nothing of the server's is added). */
  env: Record<string, string>;
  /** Default false: a private network namespace with only `lo`. True shares the host's network. */
  network?: boolean;
  /** Extra absolute paths bound read-only (useful under a hidden path; the root is read-only anyway). */
  readOnlyPaths?: string[];
  /** Extra absolute paths bound read-write. */
  writablePaths?: string[];
  /** Absolute directories shown as an empty read-only tmpfs (the data dir, a home with keys). */
  hidePaths?: string[];
  /** Absolute files made unreadable (/dev/null bound over them on a nodev mount: open fails): a TLS key kept outside the data dir. */
  hideFiles?: string[];
  /** A worktree's git dir, bound read-only over whatever is there (typically inside the workspace). */
  readOnlyGitDir?: string;
  limits?: SandboxLimits;
  /** Absolute paths of the helpers; `probeSandbox()` reports the ones found on this host. */
  tools?: { bwrap?: string; prlimit?: string };
}

/** What to hand to Bun.spawn: `Bun.spawn(plan.argv, { env: plan.env, cwd: plan.cwd, detached: true })`. */
export interface SpawnPlan {
  mode: SandboxMode;
  argv: string[];
  /** bwrap's own environment as well as the command's: inside the sandbox /proc/1/environ is bwrap's. */
  env: Record<string, string>;
  cwd: string;
  /** Always true: the plan's first process leads its own process group (and session), so one kill reaches it. */
  detached: true;
}

export const DEFAULT_BWRAP = "/usr/bin/bwrap";
export const DEFAULT_PRLIMIT = "/usr/bin/prlimit";

/**
 * Namespaces and privileges, before any mount. Each flag, and why:
 * --unshare-all       new pid, ipc, uts, net (only `lo`), cgroup and user namespaces: the command sees only
 *                     its own processes, and none of the host's sockets on 127.0.0.1
 * --unshare-user      make the user namespace certain (--unshare-all only tries), --disable-userns needs it
 * --disable-userns    no nested user namespace (bwrap ≥ 0.8). bwrap runs the command in a second user namespace
 *                     that may create no more: it owns none of the mounts, so even capabilities cannot unmount
 * --cap-drop ALL      run by root, bwrap otherwise leaves the command every capability (CapEff 1ff…). Without
 *                     both of these, `umount` of the tmpfs over the data dir reveals it (tried; a test shows it)
 * --die-with-parent   SIGKILL to the sandbox when bwrap's parent (the spawning thread, the server, the worker)
 *                     dies, and to the sandbox's pid 1 when bwrap dies. It is also what makes "the command's main
 *                     process exits ⇒ everything it started dies": bwrap exits with the command's status at
 *                     once, its pid 1 then gets SIGKILL and the kernel kills the rest of the pid namespace.
 *                     Without it pid 1 keeps reaping and waits for every background child (tried).
 * --new-session       setsid() for the command: it cannot push input into the server's terminal (TIOCSTI)
 */
const NAMESPACE_FLAGS = ["--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL", "--die-with-parent", "--new-session"];

export class SandboxPlanError extends Error {
  override name = "SandboxPlanError";
}

type MountKind = "hide" | "hide-file" | "ro" | "rw";
interface Mount {
  kind: MountKind;
  path: string;
  what: string;
}

/** Builds the plan; pure (no file system access), so every flag can be checked in a unit test. */
export function sandboxPlan(cmd: string[], opts: SandboxOptions): SpawnPlan {
  if (cmd.length === 0 || !cmd[0]) throw new SandboxPlanError("empty command");
  for (const arg of cmd) if (arg.includes("\0")) throw new SandboxPlanError("a command argument contains a NUL byte");
  const workspace = absolute(opts.workspace, "workspace");
  const cwd = opts.cwd === undefined ? workspace : absolute(opts.cwd, "cwd");
  if (!within(cwd, workspace)) throw new SandboxPlanError(`cwd '${cwd}' is not inside the workspace '${workspace}'`);
  const env = checkedEnv(opts.env);
  const limitArgs = prlimitArgs(opts.limits ?? {});
  const prlimit = opts.tools?.prlimit ?? DEFAULT_PRLIMIT;
  const command = limitArgs.length > 0 ? [prlimit, ...limitArgs, "--", ...cmd] : [...cmd];

  if (opts.mode === "none") return { mode: "none", argv: command, env, cwd, detached: true };
  if (opts.mode !== "bwrap") throw new SandboxPlanError(`unknown sandbox mode '${String(opts.mode)}'`);

  const argv = [opts.tools?.bwrap ?? DEFAULT_BWRAP, ...NAMESPACE_FLAGS];
  if (opts.network) argv.push("--share-net");
  // The base: everything read-only, then the sandbox's own /dev, /proc (its pid namespace only) and /tmp.
  argv.push("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc");
  if (opts.limits?.tmpBytes !== undefined) argv.push("--size", String(positiveInt(opts.limits.tmpBytes, "limits.tmpBytes")));
  argv.push("--tmpfs", "/tmp");
  // A private /run too: a read-only mount does not stop connect() on a unix socket, and /run holds the host's
  // (docker, dbus, a database's). With network on, the stub resolver's directory comes back for DNS.
  argv.push("--tmpfs", "/run");
  if (opts.network) argv.push("--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve");
  const mounts = orderedMounts([
    ...(opts.hidePaths ?? []).map((p) => ({ kind: "hide" as const, path: absolute(p, "hidePaths"), what: "hidden" })),
    ...(opts.hideFiles ?? []).map((p) => ({ kind: "hide-file" as const, path: absolute(p, "hideFiles"), what: "hidden" })),
    ...(opts.readOnlyPaths ?? []).map((p) => ({ kind: "ro" as const, path: absolute(p, "readOnlyPaths"), what: "read-only" })),
    ...(opts.writablePaths ?? []).map((p) => ({ kind: "rw" as const, path: absolute(p, "writablePaths"), what: "writable" })),
    { kind: "rw", path: workspace, what: "writable (the workspace)" },
    ...(opts.readOnlyGitDir ? [{ kind: "ro" as const, path: absolute(opts.readOnlyGitDir, "readOnlyGitDir"), what: "read-only (the git dir)" }] : []),
  ]);
  for (const m of mounts) {
    if (m.kind === "hide") argv.push("--tmpfs", m.path);
    else if (m.kind === "hide-file") argv.push("--ro-bind", "/dev/null", m.path);
    else argv.push(m.kind === "ro" ? "--ro-bind" : "--bind", m.path, m.path);
  }
  // Read-only only now: bwrap creates the mount points of deeper binds (the workspace under the data dir) inside it.
  for (const m of mounts) if (m.kind === "hide") argv.push("--remount-ro", m.path);
  argv.push("--chdir", cwd, "--", ...command);
  return { mode: "bwrap", argv, env, cwd, detached: true };
}

/**
 * Mounts sorted so a parent is mounted before anything under it (a deeper mount lands on top: the most
 * specific path wins, whatever order the caller listed them in). The same path twice with different kinds is refused.
 */
function orderedMounts(mounts: Mount[]): Mount[] {
  const byPath = new Map<string, Mount>();
  for (const m of mounts) {
    if (m.path === "/") throw new SandboxPlanError(`'/' cannot be ${m.what}: the root is always bound read-only`);
    if (within(m.path, "/proc") || within(m.path, "/dev")) throw new SandboxPlanError(`'${m.path}': /proc and /dev belong to the sandbox`);
    const seen = byPath.get(m.path);
    if (seen && seen.kind !== m.kind) throw new SandboxPlanError(`'${m.path}' is both ${seen.what} and ${m.what}`);
    if (!seen) byPath.set(m.path, m);
  }
  const depth = (p: string) => p.split("/").length;
  return [...byPath.values()].sort((a, b) => depth(a.path) - depth(b.path));
}

const PRLIMIT_FLAGS: [keyof SandboxLimits, string, number][] = [
  ["cpuSeconds", "--cpu", 1],
  ["addressSpaceBytes", "--as", 1],
  ["processes", "--nproc", 1],
  ["fileSizeBytes", "--fsize", 0],
  ["openFiles", "--nofile", 1],
  ["coreBytes", "--core", 0],
];

function prlimitArgs(limits: SandboxLimits): string[] {
  const args: string[] = [];
  for (const [key, flag, min] of PRLIMIT_FLAGS) {
    const value = limits[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < min) throw new SandboxPlanError(`limits.${key} must be an integer ≥ ${min}, got ${value}`);
    // soft = hard: the command cannot raise its own limit back.
    args.push(`${flag}=${value}:${value}`);
  }
  return args;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new SandboxPlanError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function checkedEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!/^[^=\0]+$/.test(key)) throw new SandboxPlanError(`invalid environment variable name '${key}'`);
    if (typeof value !== "string" || value.includes("\0")) throw new SandboxPlanError(`environment variable '${key}' must be a string without NUL bytes`);
    out[key] = value;
  }
  return out;
}

function absolute(path: string, name: string): string {
  if (typeof path !== "string" || !isAbsolute(path) || path.includes("\0")) throw new SandboxPlanError(`${name}: '${path}' must be an absolute path`);
  const p = normalize(path);
  return p.length > 1 && p.endsWith(sep) ? p.slice(0, -1) : p;
}

/** `path` is `dir` or below it (both normalized). */
export function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : dir + sep);
}
