import { describe, expect, test } from "bun:test";
import { sandboxPlan, SandboxPlanError, type SandboxOptions } from "./plan.ts";

const base: SandboxOptions = { mode: "bwrap", workspace: "/srv/data/workspaces/e1", env: { PATH: "/usr/bin:/bin" } };

/** The argv between bwrap and "--": the sandbox's flags. */
function flags(argv: string[]): string[] {
  return argv.slice(1, argv.indexOf("--"));
}

/** [flag, ...its args] for every mount op in order. */
function mountOps(argv: string[]): string[][] {
  const f = flags(argv);
  const ops: string[][] = [];
  for (let i = 0; i < f.length; i++) {
    const flag = f[i]!;
    if (flag === "--bind" || flag === "--ro-bind") ops.push([flag, f[++i]!, f[++i]!]);
    else if (["--tmpfs", "--remount-ro", "--proc", "--dev"].includes(flag)) ops.push([flag, f[++i]!]);
  }
  return ops;
}

describe("sandboxPlan (bwrap)", () => {
  test("default plan: every namespace, no capabilities, dies with its parent, read-only root, the workspace writable", () => {
    const plan = sandboxPlan(["make", "test"], base);
    expect(plan.mode).toBe("bwrap");
    expect(plan.detached).toBe(true);
    expect(plan.argv).toEqual([
      "/usr/bin/bwrap",
      "--unshare-all",
      "--unshare-user",
      "--disable-userns",
      "--cap-drop",
      "ALL",
      "--die-with-parent",
      "--new-session",
      "--ro-bind",
      "/",
      "/",
      "--dev",
      "/dev",
      "--proc",
      "/proc",
      "--tmpfs",
      "/tmp",
      "--tmpfs",
      "/run",
      "--bind",
      "/srv/data/workspaces/e1",
      "/srv/data/workspaces/e1",
      "--chdir",
      "/srv/data/workspaces/e1",
      "--",
      "make",
      "test",
    ]);
  });

  test("no network unless asked: --share-net only with network: true", () => {
    expect(sandboxPlan(["true"], base).argv).not.toContain("--share-net");
    expect(sandboxPlan(["true"], { ...base, network: false }).argv).not.toContain("--share-net");
    const on = flags(sandboxPlan(["true"], { ...base, network: true }).argv);
    expect(on).toContain("--share-net");
    // /run is private either way; with network the resolver's directory is back for DNS (when the host has one).
    expect(on.join(" ")).toContain("--tmpfs /run --ro-bind-try /run/systemd/resolve /run/systemd/resolve");
  });

  test("the environment is exactly opts.env, for bwrap too (inside, /proc/1/environ is bwrap's), never the server's", () => {
    process.env.AGENTVINE_PLAN_TEST_SECRET = "server-only";
    try {
      const plan = sandboxPlan(["env"], { ...base, env: { PATH: "/usr/bin", A: "1" } });
      expect(plan.env).toEqual({ PATH: "/usr/bin", A: "1" });
      // Values never go into argv (--setenv): any local user can read a process's command line with ps.
      expect(plan.argv).not.toContain("--setenv");
      expect(plan.argv.join(" ")).not.toContain("server-only");
    } finally {
      delete process.env.AGENTVINE_PLAN_TEST_SECRET;
    }
  });

  test("a hidden data dir is an empty tmpfs, mounted before the workspace inside it, and made read-only last", () => {
    const plan = sandboxPlan(["true"], { ...base, hidePaths: ["/srv/data"] });
    expect(mountOps(plan.argv)).toEqual([
      ["--ro-bind", "/", "/"],
      ["--dev", "/dev"],
      ["--proc", "/proc"],
      ["--tmpfs", "/tmp"],
      ["--tmpfs", "/run"],
      ["--tmpfs", "/srv/data"],
      ["--bind", "/srv/data/workspaces/e1", "/srv/data/workspaces/e1"],
      ["--remount-ro", "/srv/data"],
    ]);
  });

  test("a hidden file (a TLS key outside the data dir) gets /dev/null bound over it", () => {
    const plan = sandboxPlan(["true"], { ...base, hideFiles: ["/etc/agentvine/tls.key"] });
    expect(mountOps(plan.argv)).toContainEqual(["--ro-bind", "/dev/null", "/etc/agentvine/tls.key"]);
  });

  test("mounts go parent first whatever the order given: the most specific path wins", () => {
    const plan = sandboxPlan(["true"], {
      ...base,
      readOnlyGitDir: "/srv/data/workspaces/e1/.git",
      readOnlyPaths: ["/srv/data/cache/shared"],
      writablePaths: ["/srv/data/cache"],
      hidePaths: ["/srv/data"],
    });
    expect(mountOps(plan.argv).slice(5)).toEqual([
      ["--tmpfs", "/srv/data"],
      ["--bind", "/srv/data/cache", "/srv/data/cache"],
      ["--ro-bind", "/srv/data/cache/shared", "/srv/data/cache/shared"],
      ["--bind", "/srv/data/workspaces/e1", "/srv/data/workspaces/e1"],
      ["--ro-bind", "/srv/data/workspaces/e1/.git", "/srv/data/workspaces/e1/.git"],
      ["--remount-ro", "/srv/data"],
    ]);
  });

  test("limits become a prlimit wrapper inside the sandbox, soft = hard so the command cannot raise them", () => {
    const plan = sandboxPlan(["make"], {
      ...base,
      tools: { bwrap: "/opt/bin/bwrap", prlimit: "/opt/bin/prlimit" },
      limits: { cpuSeconds: 60, addressSpaceBytes: 2 ** 31, processes: 256, fileSizeBytes: 2 ** 30, openFiles: 1024, coreBytes: 0, tmpBytes: 2 ** 28 },
    });
    expect(plan.argv[0]).toBe("/opt/bin/bwrap");
    const afterBwrap = plan.argv.slice(plan.argv.indexOf("--") + 1);
    expect(afterBwrap).toEqual([
      "/opt/bin/prlimit",
      "--cpu=60:60",
      `--as=${2 ** 31}:${2 ** 31}`,
      "--nproc=256:256",
      `--fsize=${2 ** 30}:${2 ** 30}`,
      "--nofile=1024:1024",
      "--core=0:0",
      "--",
      "make",
    ]);
    const f = flags(plan.argv);
    expect(f.slice(f.indexOf("--size"), f.indexOf("--size") + 4)).toEqual(["--size", String(2 ** 28), "--tmpfs", "/tmp"]);
  });

  test("cwd defaults to the workspace and must stay inside it", () => {
    const plan = sandboxPlan(["true"], { ...base, cwd: "/srv/data/workspaces/e1/sub/" });
    expect(plan.cwd).toBe("/srv/data/workspaces/e1/sub");
    expect(flags(plan.argv).join(" ")).toContain("--chdir /srv/data/workspaces/e1/sub");
    expect(() => sandboxPlan(["true"], { ...base, cwd: "/srv/data/workspaces/e10" })).toThrow(SandboxPlanError);
    expect(() => sandboxPlan(["true"], { ...base, cwd: "/srv/data/workspaces/e1/../e2" })).toThrow("not inside the workspace");
  });

  test("refuses what it cannot honour, with a message naming it", () => {
    const bad: [string[], Partial<SandboxOptions>, string][] = [
      [[], {}, "empty command"],
      [["a\0b"], {}, "NUL"],
      [["true"], { workspace: "relative/ws" }, "workspace: 'relative/ws' must be an absolute path"],
      [["true"], { hidePaths: ["/"] }, "'/' cannot be hidden"],
      [["true"], { writablePaths: ["/proc/sys"] }, "/proc and /dev belong to the sandbox"],
      [["true"], { hidePaths: ["/srv/data/workspaces/e1"] }, "is both hidden and writable (the workspace)"],
      [["true"], { limits: { fileSizeBytes: -1 } }, "limits.fileSizeBytes must be an integer ≥ 0"],
      [["true"], { limits: { cpuSeconds: 1.5 } }, "limits.cpuSeconds"],
      [["true"], { env: { "A=B": "x" } }, "invalid environment variable name"],
    ];
    for (const [cmd, patch, message] of bad) expect(() => sandboxPlan(cmd, { ...base, ...patch })).toThrow(message);
  });
});

describe("sandboxPlan (none)", () => {
  test("the plain command in its own process group, with the same explicit environment", () => {
    const plan = sandboxPlan(["make", "test"], { ...base, mode: "none", network: true, hidePaths: ["/srv/data"] });
    expect(plan).toEqual({ mode: "none", argv: ["make", "test"], env: { PATH: "/usr/bin:/bin" }, cwd: "/srv/data/workspaces/e1", detached: true });
  });

  test("limits still apply through prlimit (no tmpfs, so tmpBytes has nothing to cap)", () => {
    const plan = sandboxPlan(["make"], { ...base, mode: "none", limits: { fileSizeBytes: 10, tmpBytes: 1 << 20 } });
    expect(plan.argv).toEqual(["/usr/bin/prlimit", "--fsize=10:10", "--", "make"]);
  });
});
