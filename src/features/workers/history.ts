// The last heartbeats of each worker, in memory: what the worker page draws its CPU and memory sparklines
// from. The registry keeps only the latest load; this ring keeps HISTORY_SIZE samples per worker (about
// five minutes at one beat per 5 s) and forgets everything on restart, which is fine for a trend line.
import type { Db } from "../../db/client.ts";

/** Samples kept per worker. */
export const HISTORY_SIZE = 60;

export interface HeartbeatSample {
  at: number;
  load: number | null;
  cpu_percent: number | null;
  memory_bytes: number | null;
  running: number;
}

/** One ring per worker id; bounded in size per worker and dropped with the worker's database. */
export class HeartbeatHistory {
  #rings = new Map<string, HeartbeatSample[]>();

  record(workerId: string, sample: HeartbeatSample): void {
    let ring = this.#rings.get(workerId);
    if (!ring) this.#rings.set(workerId, (ring = []));
    ring.push(sample);
    if (ring.length > HISTORY_SIZE) ring.splice(0, ring.length - HISTORY_SIZE);
  }

  /** Oldest first. */
  of(workerId: string): HeartbeatSample[] {
    return [...(this.#rings.get(workerId) ?? [])];
  }
}

// Keyed by the database the registry writes to: one history per server (and per test server), without
// threading another dependency through every caller of heartbeatWorker.
const histories = new WeakMap<Db, HeartbeatHistory>();

export function heartbeatHistory(db: Db): HeartbeatHistory {
  let h = histories.get(db);
  if (!h) histories.set(db, (h = new HeartbeatHistory()));
  return h;
}
