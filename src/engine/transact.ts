// One transaction per transition: `transact` runs the change, lets plan runs follow their steps inside
// the same transaction (a parent is never out of date, even after a kill -9), commits, and only then
// publishes the collected events.
import type { EngineDeps } from "./engine-deps.ts";
import { settleParents } from "./parent-status.ts";
import { TxEvents, type Tx } from "./tx-events.ts";

/** Runs `fn` in one IMMEDIATE transaction. `fn` must be synchronous: bun:sqlite commits at the first await. */
export function transact<T>(deps: EngineDeps, fn: (tx: Tx) => T): T {
  const tx: Tx = { events: new TxEvents(), at: (deps.clock ?? Date.now)() };
  const result = deps.db.sqlite
    .transaction(() => {
      const value = fn(tx);
      settleParents(deps, tx);
      return value;
    })
    .immediate();
  tx.events.publish(deps.bus);
  return result;
}
