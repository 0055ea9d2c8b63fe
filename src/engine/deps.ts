// What every engine function needs: the database, the event bus and (for tests) a clock.
import type { Db } from "../db/client.ts";
import type { EventBus } from "../events/bus.ts";

export interface EngineDeps {
  db: Db;
  bus: EventBus;
  clock?: () => number;
}
