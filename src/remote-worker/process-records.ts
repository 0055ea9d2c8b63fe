// The remote worker's record of the processes its task threads started and that have not exited: one small
// file each under <state-dir>/processes, written as a command starts and removed as it exits — so a worker
// killed with -9 kills, at its next start, whatever of them survived before it claims anything.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killLeftovers, type LeftoverDecision, type ProcessRecord } from "../sandbox/index.ts";

export class ProcessRecords {
  readonly #dir: string;
  /** pid → its file (a pid is unique among live processes). */
  #files = new Map<number, string>();

  constructor(stateDir: string) {
    this.#dir = join(stateDir, "processes");
  }

  add(record: ProcessRecord, executionId: string): void {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    const file = join(this.#dir, `${record.pid}-${record.startTime}.json`);
    writeFileSync(file, JSON.stringify({ ...record, executionId }), { mode: 0o600 });
    this.#files.set(record.pid, file);
  }

  remove(pid: number): void {
    const file = this.#files.get(pid);
    if (!file) return;
    this.#files.delete(pid);
    rmSync(file, { force: true });
  }

  /** At start: kills every recorded process group a previous run left alive, then forgets them all. */
  killLeftovers(kill: (records: ProcessRecord[]) => LeftoverDecision[] = killLeftovers): Array<LeftoverDecision & { executionId: string }> {
    let names: string[];
    try {
      names = readdirSync(this.#dir).filter((n) => n.endsWith(".json"));
    } catch {
      return [];
    }
    const found: Array<ProcessRecord & { executionId: string }> = [];
    for (const name of names) {
      try {
        const r = JSON.parse(readFileSync(join(this.#dir, name), "utf8")) as ProcessRecord & { executionId: string };
        if ([r.pid, r.pgid, r.startTime].every(Number.isInteger) && typeof r.bootId === "string") found.push(r);
      } catch {
        // half-written when the worker died: nothing to act on
      }
    }
    const decisions = found.length ? kill(found.map(({ pid, pgid, startTime, bootId }) => ({ pid, pgid, startTime, bootId }))) : [];
    for (const name of names) rmSync(join(this.#dir, name), { force: true });
    return decisions.map((d, i) => ({ ...d, executionId: found[i]!.executionId }));
  }
}
