// What a command inside bwrap can and cannot see or do: files, the server's environment, processes, network, limits.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sandboxPlan, type SandboxOptions } from "./plan.ts";
import { probeSandbox } from "./probe.ts";
import { spawnSandboxed } from "./spawn.ts";
import { bwrapAvailable, makeTree, readToEnd, startParent, withGuard, GUARD_MS, type Tree } from "./testing.ts";

const available = bwrapAvailable(import.meta.file);
const bash = Bun.which("bash");

describe.skipIf(!available)("bwrap: what the command can see and do", () => {
  let tree: Tree;
  beforeEach(() => (tree = makeTree()));
  afterEach(() => tree.cleanup());

  const opts = (extra: Partial<SandboxOptions> = {}): SandboxOptions => ({
    mode: "bwrap",
    workspace: tree.workspace,
    env: { PATH: "/usr/bin:/bin", TASK_VAR: "task-visible" },
    hidePaths: [tree.dataDir],
    tools: probeSandbox().tools,
    ...extra,
  });
  async function sh(script: string, extra: Partial<SandboxOptions> = {}) {
    const { proc } = spawnSandboxed(["/bin/sh", "-c", script], opts(extra));
    const [out, err, code] = await Promise.all([readToEnd(proc.stdout), readToEnd(proc.stderr), withGuard(proc.exited, GUARD_MS, "the command did not exit")]);
    return { out, err, code };
  }

  test("the root is read-only: writing outside the workspace fails, in the workspace works, /tmp is private", async () => {
    const tmpName = `agentvine-private-${process.pid}-${Date.now()}`;
    const r = await sh(`touch ${tree.outside}/x; echo "outside=$?"; echo hi > made; echo "inside=$?"; echo t > /tmp/${tmpName}; echo "tmp=$?"`);
    expect(r.out).toMatch(/outside=[1-9]/);
    expect(r.err).toContain("Read-only file system");
    expect(r.out).toContain("inside=0");
    expect(r.out).toContain("tmp=0");
    expect(existsSync(join(tree.outside, "x"))).toBe(false);
    expect(readFileSync(join(tree.workspace, "made"), "utf8")).toBe("hi\n");
    expect(existsSync(join("/tmp", tmpName))).toBe(false);
  });

  test("the hidden data dir is empty and cannot be unmounted, while the workspace inside it works", async () => {
    // Not hidden, the read-only root shows the file: the test's setup really exposes it.
    expect((await sh(`cat ${tree.secretFile}`, { hidePaths: [] })).out).toContain("TOP-SECRET");
    const r = await sh(`cat ${tree.secretFile}; ls -A ${tree.dataDir}; umount ${tree.dataDir}; echo "umount=$?"; cat ${tree.secretFile}; pwd`);
    expect(r.out).not.toContain("TOP-SECRET");
    expect(r.out).toMatch(/umount=[1-9]/);
    expect(r.out.split("\n")).toContain("workspaces");
    expect(r.out.split("\n")).not.toContain("secrets.key");
    expect(r.out).toContain(tree.workspace);
  });

  test("a hidden file outside the data dir (a TLS key) cannot be read or written; a hidden path that does not exist is no error", async () => {
    const key = join(tree.outside, "tls.key");
    writeFileSync(key, "-----BEGIN PRIVATE KEY-----\n");
    const r = await sh(`cat ${key}; echo "cat=$?"; echo x > ${key}; echo "write=$?"`, { hidePaths: [tree.dataDir, key, join(tree.root, "missing")] });
    expect(r.out).not.toContain("PRIVATE KEY");
    expect(r.out).toMatch(/cat=[1-9]/);
    expect(r.err).toContain("Permission denied");
    expect(r.out).toMatch(/write=[1-9]/);
    expect(readFileSync(key, "utf8")).toBe("-----BEGIN PRIVATE KEY-----\n");
    expect((await sh(`cat ${key}`, { hidePaths: [] })).out).toContain("PRIVATE KEY"); // the setup does expose it
  });

  test.skipIf(process.getuid?.() !== 0)("run by root, without --cap-drop ALL and --disable-userns the command could unmount the tmpfs hiding the data dir", async () => {
    // Why both flags are in every plan: as root, bwrap otherwise leaves the command every capability in its namespaces.
    const plan = sandboxPlan(["/bin/sh", "-c", `umount -l ${tree.dataDir} && cat ${tree.secretFile}`], opts());
    const i = plan.argv.indexOf("--cap-drop");
    const weakened = [...plan.argv.slice(0, i), ...plan.argv.slice(i + 2)].filter((a) => a !== "--disable-userns");
    const proc = Bun.spawn(weakened, { env: plan.env, cwd: plan.cwd, stdout: "pipe", stderr: "pipe" });
    expect(await readToEnd(proc.stdout)).toContain("TOP-SECRET");
    await proc.exited;
    // The real plan, same command:
    const r = await sh(`umount -l ${tree.dataDir} && cat ${tree.secretFile}`);
    expect(r.out).not.toContain("TOP-SECRET");
    expect(r.code).not.toBe(0);
  });

  test("no capabilities, and no nested user namespace to regain them in", async () => {
    const r = await sh(`grep CapEff /proc/self/status; unshare -U true; echo "unshare=$?"`);
    expect(r.out).toContain("CapEff:\t0000000000000000");
    expect(r.out).toMatch(/unshare=[1-9]/);
  });

  test("the server's environment is not readable: not in /proc/1/environ, /proc/$PPID/environ or any /proc/*/environ", async () => {
    const secret = `AGENTVINE_SECRETS_KEY=sk-${crypto.randomUUID()}`;
    const plan = sandboxPlan(["/bin/sh", "-c", `echo "ppid=$PPID"; cat /proc/1/environ /proc/$PPID/environ /proc/*/environ | tr '\\0' '\\n'`], opts());
    const { parent } = await startParent(plan, { PATH: process.env.PATH ?? "/usr/bin:/bin", AGENTVINE_SECRETS_KEY: secret.split("=")[1]! });
    const out = await readToEnd(parent.stdout);
    expect(await parent.exited).toBe(0);
    expect(out).toContain("ppid=1"); // its parent is the sandbox's pid 1 (bwrap), not the server
    expect(out).toContain("TASK_VAR=task-visible"); // the reads worked: the command's own variables are there
    expect(out).not.toContain(secret.split("=")[1]!);
  });

  test("only the sandbox's own processes exist in its /proc; no descriptor of the server is inherited", async () => {
    const fd = openSync(tree.secretFile, "r");
    try {
      const r = await sh(`cat /proc/[0-9]*/comm; ls -l /proc/self/fd`);
      const comms = r.out.split("\n").filter((l) => l && !l.includes(" "));
      expect(comms).not.toContain("bun");
      expect(comms.length).toBeLessThanOrEqual(4); // bwrap (pid 1), sh, cat
      expect(r.out).not.toContain("secrets.key");
    } finally {
      closeSync(fd);
    }
  });

  test.skipIf(!bash)("network off: the host's 127.0.0.1 listener is unreachable; network on: it answers", async () => {
    let accepted = 0;
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: () => void accepted++, data() {} } });
    try {
      const connect = ["/usr/bin/bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${server.port} && echo connected`];
      const off = spawnSandboxed(connect, opts());
      expect(await off.proc.exited).not.toBe(0);
      expect(await readToEnd(off.proc.stderr)).toContain("Connection refused");
      expect(accepted).toBe(0);
      const on = spawnSandboxed(connect, opts({ network: true }));
      expect(await on.proc.exited).toBe(0);
      expect(await readToEnd(on.proc.stdout)).toBe("connected\n");
    } finally {
      server.stop(true);
    }
  });

  test("a unix socket of the host under /run is unreachable (a read-only mount alone would not stop connect())", async () => {
    const dir = join("/run", `agentvine-sandbox-test-${process.pid}-${Date.now()}`);
    let made = false;
    try {
      mkdirSync(dir);
      made = true;
    } catch {
      console.warn("[sandbox] cannot create a directory under /run here; socket test uses only the outside dir");
    }
    const sockets = [join(tree.outside, "svc.sock"), ...(made ? [join(dir, "svc.sock")] : [])];
    let accepted = 0;
    const servers = sockets.map((unix) => Bun.listen({ unix, socket: { open: () => void accepted++, data() {} } }));
    try {
      const connect = (path: string) => spawnSandboxed([process.execPath, "-e", `await Bun.connect({ unix: ${JSON.stringify(path)}, socket: { data() {} } }); console.log("connected"); process.exit(0)`], opts({ env: { PATH: "/usr/bin:/bin", HOME: "/tmp" } }));
      // Outside /run, on the read-only root: reachable, which is why /run (where services put theirs) is private.
      const outside = connect(sockets[0]!);
      expect(await readToEnd(outside.proc.stdout)).toBe("connected\n");
      expect(accepted).toBe(1);
      if (made) {
        const inRun = connect(sockets[1]!);
        expect(await inRun.proc.exited).not.toBe(0);
        expect(accepted).toBe(1);
      }
    } finally {
      for (const s of servers) s.stop(true);
      if (made) rmSync(dir, { recursive: true, force: true });
    }
  });

  test("prlimit caps apply inside: a file-size cap stops `head -c 10M`, descriptors are capped and cannot be raised", async () => {
    const r = await sh(`head -c 10M /dev/zero > big; echo "head=$?"; wc -c < big; ulimit -n; ulimit -n 4096; echo "raise=$?"`, {
      limits: { fileSizeBytes: 1 << 20, openFiles: 64 },
    });
    expect(r.out).toContain("head=153"); // 128 + SIGXFSZ
    expect(r.out).toContain(`\n${1 << 20}\n`);
    expect(r.out).toContain("\n64\n");
    expect(r.out).toMatch(/raise=[1-9]/);
    // Without the cap the same command writes all 10 MiB: the cap is what stopped it.
    expect((await sh(`head -c 10M /dev/zero > big; wc -c < big`)).out.trim()).toBe(String(10 << 20));
  });

  test.skipIf(process.getuid?.() === 0)("a process cap stops forking (not as root: the kernel exempts uid 0 from RLIMIT_NPROC)", async () => {
    const r = await sh(`for i in 1 2 3 4 5 6 7 8; do sleep 300 & done; echo spawned`, { limits: { processes: 4 } });
    expect(r.err).toMatch(/Cannot fork|Resource temporarily unavailable/);
  });

  test("a CPU-time cap kills a busy loop", async () => {
    const r = await sh(`while :; do :; done`, { limits: { cpuSeconds: 1 } });
    expect(r.code).toBe(137); // bwrap reports a signalled command as 128 + signal: SIGKILL at the hard limit
  });

  test("a program that does not exist fails at spawn with Bun's own message, as without a sandbox", () => {
    for (const mode of ["bwrap", "none"] as const) {
      expect(() => spawnSandboxed(["no-such-program-agentvine"], opts({ mode }))).toThrow('Executable not found in $PATH: "no-such-program-agentvine"');
      expect(() => spawnSandboxed(["./no-such-script"], opts({ mode }))).toThrow("ENOENT: no such file or directory, posix_spawn './no-such-script'");
    }
  });

  test("a worktree's .git is read-only while the worktree is writable", async () => {
    mkdirSync(join(tree.workspace, ".git"));
    const r = await sh(`touch .git/index.lock; echo "git=$?"; touch file; echo "tree=$?"`, { readOnlyGitDir: join(tree.workspace, ".git") });
    expect(r.out).toMatch(/git=[1-9]/);
    expect(r.out).toContain("tree=0");
    expect(existsSync(join(tree.workspace, ".git", "index.lock"))).toBe(false);
  });
});
