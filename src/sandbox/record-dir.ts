// Where the processes a server's or worker's task threads started are recorded until they exit: one small
// file each (<data-dir>/processes, <state-dir>/processes), written by the thread that started it right as
// it starts — before anything else can happen — and removed as it exits. A server or worker killed with -9
// kills, at its next start, whatever of them survived before it runs anything again.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, type LeftoverDecision, type ProcessRecord } from "./leftovers.ts";

export class ProcessRecordDir {
  /** Processes heard of (`seen`) and not known to be gone, by pid: to remove their records when they are. */
  #known = new Map<number, ProcessRecord>();

  constructor(readonly dir: string) {}

  /**
   * What the pool reports of a process: started (with its record), or gone — the thread removes the record
   * as the process exits, but one gone with its retired thread is removed here.
   */
  seen(pid: number, record: ProcessRecord | null, gone: boolean): void {
    if (record) this.#known.set(pid, record);
    if (!gone) return;
    const known = this.#known.get(pid);
    this.#known.delete(pid);
    if (known) this.remove(known);
  }

  #file(record: Pick<ProcessRecord, "pid" | "startTime">): string {
    return join(this.dir, `${record.pid}-${record.startTime}.json`);
  }

  /** Synchronous on purpose: called by the thread that spawned the process, before it does anything else. */
  add(record: ProcessRecord, executionId: string): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(this.#file(record), JSON.stringify({ ...record, executionId }), { mode: 0o600 });
  }

  remove(record: Pick<ProcessRecord, "pid" | "startTime">): void {
    rmSync(this.#file(record), { force: true });
  }

  /** At start: kills every recorded process group a previous run left alive, then forgets them all. */
  killLeftovers(kill: (records: ProcessRecord[]) => LeftoverDecision[] = killLeftovers): Array<LeftoverDecision & { executionId: string }> {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(".json"));
    } catch {
      return [];
    }
    const found: Array<ProcessRecord & { executionId: string }> = [];
    for (const name of names) {
      try {
        const r = JSON.parse(readFileSync(join(this.dir, name), "utf8")) as ProcessRecord & { executionId: string };
        if ([r.pid, r.pgid, r.startTime].every(Number.isInteger) && typeof r.bootId === "string") found.push(r);
      } catch {
        // half-written when the process died: nothing to act on
      }
    }
    const decisions = found.length ? kill(found.map(({ pid, pgid, startTime, bootId }) => ({ pid, pgid, startTime, bootId }))) : [];
    for (const name of names) rmSync(join(this.dir, name), { force: true });
    return decisions.map((d, i) => ({ ...d, executionId: found[i]!.executionId }));
  }

  /** killLeftovers, saying what it killed (warn) and skipped (debug); returns how many process groups it killed. */
  killLeftoversAndSay(log: { warn(msg: string): void; debug(msg: string): void }): number {
    let killed = 0;
    for (const d of this.killLeftovers()) {
      const line = `process group ${d.record.pgid} of execution ${d.executionId}: ${d.action === "kill" ? "killed" : "skipped"} (${d.why})`;
      if (d.action === "kill") {
        killed++;
        log.warn(`left running by the previous run: ${line}`);
      } else log.debug(line);
    }
    return killed;
  }
}
