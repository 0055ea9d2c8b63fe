// Group commit for submissions: tasks submitted in the same event-loop turn (concurrent POSTs) are
// inserted in one transaction; each caller's promise resolves only after that commit.
import type { AppError } from "../errors.ts";
import { submitTasks, type NewTask } from "./submit.ts";
import { type EngineDeps } from "./engine-deps.ts";
import type { TaskRecord } from "./task-record.ts";

interface Pending {
  input: NewTask;
  /** Runs in the submission's transaction with the new task's id (the caller's audit record). */
  within?: (taskId: string) => void;
  resolve: (task: TaskRecord) => void;
  reject: (err: AppError | Error) => void;
}

export class SubmitBatcher {
  #queue: Pending[] = [];
  #scheduled = false;

  constructor(private readonly deps: EngineDeps) {}

  submit(input: NewTask, within?: (taskId: string) => void): Promise<TaskRecord> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ input, within, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    try {
      const tasks = submitTasks(this.deps, batch.map((p) => p.input), withinEach(batch));
      batch.forEach((p, i) => p.resolve(tasks[i]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err as Error);
      // The batch rolled back as a whole: one bad submission (say, a dependency deleted meanwhile)
      // must not fail the others, and its error must name its own fields. Submit each on its own.
      for (const p of batch) {
        try {
          p.resolve(submitTasks(this.deps, [p.input], withinEach([p]))[0]!);
        } catch (e) {
          p.reject(e as Error);
        }
      }
    }
  }
}

/** The batch's own `within` callbacks, each with its task's id (the batch inserts one task per submission, in order). */
function withinEach(batch: Pending[]): ((tx: unknown, ids: string[]) => void) | undefined {
  if (!batch.some((p) => p.within)) return undefined;
  return (_tx, ids) => batch.forEach((p, i) => p.within?.(ids[i]!));
}
