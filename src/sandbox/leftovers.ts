// Crash recovery: what to persist about each started command, and killing what a previous run of the server or worker left alive.
import { readdirSync, readFileSync } from "node:fs";

/**
 * Persist one per started command (bwrap or the plain command). `startTime` (clock ticks since boot, from
 * /proc/<pid>/stat) and `bootId` tell a live tree from a recycled pid or a record of an earlier boot.
 */
export interface ProcessRecord {
  pid: number;
  /** The process group it leads (spawned detached, so the same as pid). */
  pgid: number;
  startTime: number;
  bootId: string;
}

/** The fields of /proc/<pid>/stat we use. */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie: exited, not yet reaped), X, T, ... */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  startTime: number;
}

/** Parses /proc/<pid>/stat. The command name is in parentheses and may itself hold spaces and ')', so fields are counted from the last ')'. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  // After ") ": state(3) ppid(4) pgrp(5) session(6) ... starttime(22); index 0 here is field 3.
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const startTime = Number(rest[19]);
  if (!Number.isInteger(pid) || rest.length < 20 || !Number.isFinite(startTime)) return null;
  return { pid, state: rest[0]!, ppid: Number(rest[1]), pgrp: Number(rest[2]), session: Number(rest[3]), startTime };
}

/** Dead, whatever /proc still shows: a zombie holds only its exit status. */
export function isDead(stat: ProcStat | null | undefined): boolean {
  return !stat || stat.state === "Z" || stat.state === "X" || stat.state === "x";
}

/** The host as killLeftovers sees it; a test passes a fake. */
export interface HostView {
  bootId(): string;
  stat(pid: number): ProcStat | null;
  /** Every process (only needed when a recorded leader is gone). */
  all(): ProcStat[];
  killGroup(pgid: number): void;
  killProcess(pid: number): void;
}

export interface LeftoverDecision {
  record: ProcessRecord;
  action: "kill" | "skip";
  why: string;
  /** With `kill`: the recorded leader itself, when it is alive but left its group (it called setsid). */
  leaderOutsideGroup?: boolean;
}

/**
 * Decides per record. Pure. A group is killed only when it is provably the recorded one: its leader alive
 * with the recorded start time, or — leader gone — members of that group started no earlier than it (while
 * a member lives the kernel cannot give the group's id to a new process).
 */
export function decideLeftovers(records: ProcessRecord[], bootId: string, stat: (pid: number) => ProcStat | null, all: () => ProcStat[]): LeftoverDecision[] {
  let everyone: ProcStat[] | undefined;
  return records.map((record): LeftoverDecision => {
    if (record.bootId !== bootId) return { record, action: "skip", why: "recorded before the last boot" };
    const leader = stat(record.pid);
    if (leader && leader.startTime !== record.startTime) return { record, action: "skip", why: `pid ${record.pid} was reused by another process` };
    if (leader && !isDead(leader)) {
      return leader.pgrp === record.pgid
        ? { record, action: "kill", why: "leader still running" }
        : { record, action: "kill", why: "leader still running, outside its group", leaderOutsideGroup: true };
    }
    everyone ??= all();
    const members = everyone.filter((p) => p.pgrp === record.pgid && p.startTime >= record.startTime && !isDead(p));
    if (members.length > 0) return { record, action: "kill", why: `leader gone, ${members.length} process(es) of its group still running` };
    return { record, action: "skip", why: "nothing left" };
  });
}

/**
 * At server or worker start: SIGKILLs every recorded process group still alive. For a bwrap record this
 * kills bwrap, and with it (--die-with-parent) the sandbox's pid 1 and so every process inside.
 */
export function killLeftovers(records: ProcessRecord[], host: HostView = procHost): LeftoverDecision[] {
  const decisions = decideLeftovers(records, host.bootId(), (pid) => host.stat(pid), () => host.all());
  for (const d of decisions) {
    if (d.action !== "kill") continue;
    host.killGroup(d.record.pgid);
    if (d.leaderOutsideGroup) host.killProcess(d.record.pid);
  }
  return decisions;
}

/** The record to persist for a process just started (null when it is already gone and reaped). */
export function recordProcess(pid: number, host: Pick<HostView, "bootId" | "stat"> = procHost): ProcessRecord | null {
  const s = host.stat(pid);
  if (!s) return null;
  return { pid, pgid: s.pgrp, startTime: s.startTime, bootId: host.bootId() };
}

/** The real host, through /proc. */
export const procHost: HostView = {
  bootId: () => read("/proc/sys/kernel/random/boot_id")?.trim() ?? "",
  stat: (pid) => {
    const text = read(`/proc/${pid}/stat`);
    return text === null ? null : parseProcStat(text);
  },
  all: () => {
    const out: ProcStat[] = [];
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      const text = read(`/proc/${name}/stat`);
      const s = text === null ? null : parseProcStat(text);
      if (s) out.push(s);
    }
    return out;
  },
  killGroup: (pgid) => {
    if (!Number.isInteger(pgid) || pgid <= 1) return; // -1 and -0 would mean "every process" / "our own group"
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  },
  killProcess: (pid) => {
    if (!Number.isInteger(pid) || pid <= 1) return;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  },
};

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}
