// The processes the server's task threads started and that have not exited, in `live_processes`: each is
// recorded as it starts and forgotten as it exits, so a server killed with -9 knows at its next start what
// may still be running — and kills it before it runs any task again (the re-run would run beside it).
import type { Db } from "../db/client.ts";
import { killLeftovers, type LeftoverDecision, type ProcessRecord } from "../sandbox/index.ts";

export function recordLiveProcess(db: Db, record: ProcessRecord, executionId: string, at = Date.now()): void {
  db.sqlite
    .query("INSERT OR REPLACE INTO live_processes (pid, pgid, start_time, boot_id, execution_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?)")
    .run(record.pid, record.pgid, record.startTime, record.bootId, executionId, at);
}

export function forgetLiveProcess(db: Db, pid: number): void {
  db.sqlite.query("DELETE FROM live_processes WHERE pid = ?").run(pid);
}

/**
 * At start, before anything is dispatched or reaped: kills every recorded process group still alive (a
 * record of an earlier boot, or whose pid now belongs to another process, is skipped), then forgets them all.
 * Returns each decision with the execution it belonged to, for the log.
 */
export function killRecordedLeftovers(db: Db, kill: (records: ProcessRecord[]) => LeftoverDecision[] = killLeftovers): Array<LeftoverDecision & { executionId: string }> {
  const rows = db.sqlite
    .query<{ pid: number; pgid: number; start_time: number; boot_id: string; execution_id: string }, []>("SELECT * FROM live_processes")
    .all();
  if (rows.length === 0) return [];
  const decisions = kill(rows.map((r) => ({ pid: r.pid, pgid: r.pgid, startTime: r.start_time, bootId: r.boot_id })));
  db.sqlite.run("DELETE FROM live_processes");
  return decisions.map((d, i) => ({ ...d, executionId: rows[i]!.execution_id }));
}
