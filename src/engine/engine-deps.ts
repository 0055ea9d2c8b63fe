// What every engine function needs: the database, the event bus and (for tests) a clock.
import type { Db } from "../db/client.ts";
import type { EventBus } from "../events/bus.ts";

/** What submission asks of the secrets store: the `{{secrets.NAME}}` references in params it cannot resolve. */
export interface SecretReferences {
  missingSecretRefs(value: unknown): Array<{ path: string; name: string; unreadable: boolean }>;
}

export interface EngineDeps {
  db: Db;
  bus: EventBus;
  clock?: () => number;
  /** When set, a task whose params name an unknown secret is refused at submission (400). */
  secrets?: SecretReferences;
}
