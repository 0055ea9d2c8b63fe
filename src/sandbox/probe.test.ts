import { describe, expect, test } from "bun:test";
import { DOCKER_SECCOMP_REASON, explainProbeFailure, NO_SANDBOX_WARNING, probeSandbox, resolveSandboxMode, type ProbeFacts } from "./probe.ts";

const host: ProbeFacts = {
  stderr: "",
  exitCode: 1,
  uid: 1000,
  seccompMode: 0,
  inContainer: false,
  sysctl: { maxUserNamespaces: 15000, unprivilegedUsernsClone: 1, apparmorRestrictUnprivilegedUserns: null },
};

describe("explainProbeFailure", () => {
  // bwrap 0.8's own messages for each case (strings from the Debian binary).
  const asRoot = "bwrap: Creating new namespace failed: Operation not permitted\n";
  const unprivileged =
    "bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces. See <https://deb.li/bubblewrap> or <file:///usr/share/doc/bubblewrap/README.Debian.gz>.\n";

  test("Docker's default seccomp profile: says to run with seccomp=unconfined", () => {
    for (const facts of [
      { ...host, stderr: asRoot, uid: 0, seccompMode: 2, inContainer: true },
      { ...host, stderr: unprivileged, seccompMode: 2 },
      { ...host, stderr: asRoot, uid: 0, inContainer: true },
    ]) {
      const reason = explainProbeFailure(facts);
      expect(reason.startsWith(DOCKER_SECCOMP_REASON)).toBe(true);
      expect(reason).toContain("(bwrap: ");
    }
    expect(DOCKER_SECCOMP_REASON).toBe("bubblewrap cannot create namespaces here (under Docker run with --security-opt seccomp=unconfined)");
  });

  test("names the sysctl that turned user namespaces off", () => {
    expect(explainProbeFailure({ ...host, stderr: unprivileged, sysctl: { ...host.sysctl, unprivilegedUsernsClone: 0 } })).toStartWith(
      "unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0)",
    );
    expect(explainProbeFailure({ ...host, stderr: asRoot, sysctl: { ...host.sysctl, maxUserNamespaces: 0 } })).toStartWith(
      "user namespaces are disabled (sysctl user.max_user_namespaces=0)",
    );
    expect(
      explainProbeFailure({ ...host, stderr: "bwrap: setting up uid map: Permission denied\n", sysctl: { ...host.sysctl, apparmorRestrictUnprivilegedUserns: 1 } }),
    ).toStartWith("AppArmor restricts unprivileged user namespaces");
  });

  test("a bwrap without --disable-userns (before 0.8) is too old", () => {
    expect(explainProbeFailure({ ...host, stderr: "bwrap: Unknown option --disable-userns\n" })).toBe(
      "bubblewrap is too old for the sandbox's flags (0.8 or later is needed) (bwrap: Unknown option --disable-userns)",
    );
  });

  test("otherwise passes bwrap's own words on", () => {
    expect(explainProbeFailure({ ...host, stderr: asRoot })).toBe("bubblewrap cannot create namespaces here (bwrap: Creating new namespace failed: Operation not permitted)");
    expect(explainProbeFailure({ ...host, stderr: "bwrap: Can't find source path /nope: No such file or directory" })).toBe(
      "bubblewrap failed to run a trivial command (exit 1) (bwrap: Can't find source path /nope: No such file or directory)",
    );
    expect(explainProbeFailure({ ...host, exitCode: null })).toBe("bubblewrap did not finish a trivial command in time");
  });
});

describe("resolveSandboxMode", () => {
  const works = { available: true, version: "bubblewrap 0.8.0" };
  const missing = { available: false, reason: "bubblewrap is not installed (no bwrap on PATH)" };

  test("auto picks bwrap when it works, else none with the warning and the reason", () => {
    expect(resolveSandboxMode("auto", works)).toEqual({ mode: "bwrap" });
    expect(resolveSandboxMode("auto", missing)).toEqual({ mode: "none", warning: `${NO_SANDBOX_WARNING} (bubblewrap is not installed (no bwrap on PATH))` });
  });

  test("bwrap asked for but unavailable is an error, not a silent downgrade", () => {
    expect(resolveSandboxMode("bwrap", works)).toEqual({ mode: "bwrap" });
    const r = resolveSandboxMode("bwrap", missing);
    expect(r.error).toBe("sandbox 'bwrap' was asked for but bubblewrap is not installed (no bwrap on PATH)");
  });

  test("none always warns", () => {
    expect(resolveSandboxMode("none", works).warning).toBe(`${NO_SANDBOX_WARNING} (sandbox set to 'none')`);
    expect(NO_SANDBOX_WARNING).toBe("no sandbox: shell tasks run as the server's OS user and can read its data dir; install bubblewrap");
  });
});

test("probeSandbox answers once per process, with a version or a reason", () => {
  const first = probeSandbox();
  expect(probeSandbox()).toBe(first);
  if (first.available) expect(first.version).toMatch(/^bubblewrap \d+\.\d+/);
  else {
    console.warn(`[sandbox] probe says unavailable: ${first.reason}`);
    expect(first.reason).toBeTruthy();
  }
  expect(probeSandbox({ refresh: true }).available).toBe(first.available);
});

test("a bwrap that is missing or does not work is reported, not assumed", () => {
  expect(probeSandbox({ tools: { bwrap: "/nonexistent/bwrap" } })).toEqual({ available: false, reason: "bubblewrap is not installed (no /nonexistent/bwrap)" });
  const broken = probeSandbox({ tools: { bwrap: "/bin/false" } });
  expect(broken.available).toBe(false);
  expect(broken.reason).toBe("bubblewrap failed to run a trivial command (exit 1)");
});
