// What every engine function needs: the database, the event bus and (for tests) a clock.
import type { Db } from "../db/client.ts";
import type { EventBus } from "../events/bus.ts";
import type { DiskWatch } from "../data-dir/disk.ts";

/** What submission asks of the secrets store: the `{{secrets.NAME}}` references in params it cannot resolve. */
export interface SecretReferences {
  missingSecretRefs(value: unknown): Array<{ path: string; name: string; unreadable: boolean }>;
  /** References whose secret's allow-list refuses this use (the author's role, the task type, an http task's host), naming the rule. */
  refusedSecretUses(params: unknown, use: SecretUseOf): Array<{ path: string; name: string; message: string }>;
}

/** A use of secrets: by a task of `taskType` written by `userId` (null: the system), run by a remote worker or not. */
export interface SecretUseOf {
  userId: string | null;
  taskType: string;
  remote?: boolean;
}

export interface EngineDeps {
  db: Db;
  bus: EventBus;
  clock?: () => number;
  /** When set, a task whose params name an unknown secret is refused at submission (400). */
  secrets?: SecretReferences;
  /** Told when a write fails for want of space (and when one works again): /health reports it. */
  disk?: DiskWatch;
}
