// Starting a task thread and ending it without leaving its processes behind: the mechanics under the
// ThreadPool (thread-pool.ts), which the server and the remote worker both run tasks with.
import { killTree, killTreeAndWait } from "../sandbox/index.ts";
import type { FromThread, ToThread } from "./protocol.ts";

/** How long a retired thread may take to reap the processes it started before it is terminated anyway. */
const REAP_GRACE_MS = 2000;
/** …and to answer at all when it reported none (a responsive thread answers in well under a millisecond). */
const NO_CHILDREN_GRACE_MS = 250;

/**
 * Starts a task thread: its messages go to `on.message`; an error or an exit nobody asked for (while
 * `on.stillWanted()`) is a crash, reported once through `on.crash`.
 */
export function startTaskThread(url: URL, on: { message(msg: FromThread): void; crash(reason: string): void; stillWanted(): boolean }): Worker {
  const thread = new Worker(url.href);
  thread.onmessage = (event: MessageEvent<FromThread>) => on.message(event.data);
  thread.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    on.crash(`worker thread crashed: ${event.message || "unknown error"}`);
  };
  thread.addEventListener("close", () => {
    if (on.stillWanted()) on.crash("worker thread exited unexpectedly");
  });
  return thread;
}

/** SIGKILLs each process group (each task process leads its own), or the process if it has no group. Empties `pids`. */
export function killProcessGroups(pids: Set<number>): void {
  for (const pid of pids) killTree(pid);
  pids.clear();
}

/**
 * Kills a thread's processes and terminates it once they exited: only the thread that started them can
 * reap them, so terminating it first would leave zombies — and a process whose pid message was still on
 * its way would be orphaned. So the thread kills its own children and says when they are gone; the
 * processes we know of are killed here too, in case the thread is stuck. A thread that does not answer
 * in time (spinning, or dead) is terminated anyway. Resolves once it is terminated.
 */
export function retireThread(thread: Worker, pids: Set<number>): Promise<void> {
  const graceMs = pids.size > 0 ? REAP_GRACE_MS : NO_CHILDREN_GRACE_MS;
  // Every process of each tree, not only its leader, is gone before the thread is reported retired (a
  // task reported timed out runs nothing any more): in a sandbox, its pid 1 ends last.
  const dying = Promise.all([...pids].map((pid) => killTreeAndWait(pid, REAP_GRACE_MS)));
  pids.clear();
  return new Promise<void>((resolve) => {
    let done = false;
    const terminate = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      thread.terminate();
      void dying.then(() => resolve());
    };
    const timer = setTimeout(terminate, graceMs);
    thread.addEventListener("message", (event: MessageEvent<FromThread>) => {
      if (event.data.type === "children-gone") terminate();
    });
    thread.postMessage({ type: "kill-children" } satisfies ToThread);
  });
}
