import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { decideLeftovers, killLeftovers, parseProcStat, recordProcess, type HostView, type ProcessRecord, type ProcStat } from "./leftovers.ts";

describe("parseProcStat", () => {
  test("counts fields from the last ')' so a command name with spaces and parentheses cannot shift them", () => {
    const text = "4242 (evil) S 1 2 3) R 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615\n";
    expect(parseProcStat(text)).toEqual({ pid: 4242, state: "R", ppid: 17, pgrp: 4242, session: 4242, startTime: 987654 });
  });

  test("reads this very process", () => {
    const s = parseProcStat(readFileSync("/proc/self/stat", "utf8"));
    expect(s?.pid).toBe(process.pid);
    expect(s?.startTime).toBeGreaterThan(0);
  });

  test("garbage is null, not a wrong answer", () => {
    expect(parseProcStat("")).toBeNull();
    expect(parseProcStat("12 (x) S 1")).toBeNull();
  });
});

describe("decideLeftovers", () => {
  const boot = "boot-a";
  const rec = (pid: number, startTime: number, bootId = boot): ProcessRecord => ({ pid, pgid: pid, startTime, bootId });
  const proc = (pid: number, startTime: number, pgrp = pid, state = "S"): ProcStat => ({ pid, state, ppid: 1, pgrp, session: pgrp, startTime });

  function decide(records: ProcessRecord[], procs: ProcStat[]) {
    const byPid = new Map(procs.map((p) => [p.pid, p]));
    return decideLeftovers(records, boot, (pid) => byPid.get(pid) ?? null, () => procs).map((d) => [d.record.pid, d.action, d.why]);
  }

  test.each([
    ["leader alive with the recorded start time → kill its group", [rec(100, 5000)], [proc(100, 5000)], "kill", "leader still running"],
    ["the pid now belongs to a process started later → never touch it", [rec(100, 5000)], [proc(100, 9000)], "skip", "pid 100 was reused by another process"],
    ["recorded before a reboot → skip even if pid and time match", [rec(100, 5000, "boot-old")], [proc(100, 5000)], "skip", "recorded before the last boot"],
    ["leader gone, its background children still in the group → kill the group", [rec(100, 5000)], [proc(230, 5100, 100)], "kill", "leader gone, 1 process(es) of its group still running"],
    ["leader a zombie, children in the group → kill the group", [rec(100, 5000)], [proc(100, 5000, 100, "Z"), proc(230, 5100, 100)], "kill", "leader gone, 1 process(es) of its group still running"],
    ["leader gone, nothing in its group → nothing to do", [rec(100, 5000)], [proc(230, 5100, 230)], "skip", "nothing left"],
    ["leader gone, only zombies in the group → nothing to do", [rec(100, 5000)], [proc(230, 5100, 100, "Z")], "skip", "nothing left"],
  ] as const)("%s", (_name, records, procs, action, why) => {
    expect(decide([...records], [...procs])).toEqual([[records[0]!.pid, action, why]]);
  });

  test("a leader that left its group (setsid) is killed by pid as well as its group", () => {
    const calls: string[] = [];
    const procs = [proc(100, 5000, 150)];
    const host: HostView = {
      bootId: () => boot,
      stat: (pid) => procs.find((p) => p.pid === pid) ?? null,
      all: () => procs,
      killGroup: (g) => calls.push(`group ${g}`),
      killProcess: (p) => calls.push(`pid ${p}`),
    };
    const [d] = killLeftovers([rec(100, 5000)], host);
    expect(d?.action).toBe("kill");
    expect(calls).toEqual(["group 100", "pid 100"]);
  });
});

test("recordProcess: pid, its group, start time and boot id of a live process; null once it is gone", async () => {
  const proc = Bun.spawn(["sleep", "30"], { detached: true, stdout: "ignore" });
  const record = recordProcess(proc.pid);
  expect(record).toMatchObject({ pid: proc.pid, pgid: proc.pid });
  expect(record!.startTime).toBeGreaterThan(0);
  expect(record!.bootId).toMatch(/^[0-9a-f-]{36}$/);
  proc.kill("SIGKILL");
  await proc.exited;
  expect(recordProcess(proc.pid)).toBeNull();
});
