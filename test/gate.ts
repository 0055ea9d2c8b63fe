// A gate for shell tasks: the task blocks until the test opens it, so "still running" is a fact, not a race.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sharedDir } from "./helpers.ts";

export interface Gate {
  /** Pass as the shell task's `env`: the script waits for the file named by $GATE. */
  env: { GATE: string };
  open(): void;
}

export function gate(): Gate {
  // In the test servers' writable shared dir: the task, in its sandbox, sees the file appear.
  const path = join(sharedDir("gate-"), "open");
  return { env: { GATE: path }, open: () => writeFileSync(path, "") };
}

/** Shell snippet that blocks until the gate is opened (the task polls the file, the test never sleeps). */
export const AWAIT_GATE = 'until [ -e "$GATE" ]; do sleep 0.02; done';
