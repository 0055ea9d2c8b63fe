// The registry of task types. Adding a type: write one module in this folder and add one line here.
import type { TaskType } from "./types.ts";
import { bugfixAgent, docsAgent, featureAgent, testAgent } from "./agent/index.ts";
import publish from "./agent/publish.ts";
import ask from "./ask.ts";
import hello from "./hello.ts";
import http from "./http.ts";
import plan from "./plan.ts";
import shell from "./shell.ts";

const registry = new Map<string, TaskType>([hello, shell, http, plan, ask, featureAgent, bugfixAgent, testAgent, docsAgent, publish].map((t) => [t.name, t as TaskType]));

export const TASK_TYPES: ReadonlyMap<string, TaskType> = registry;

/** Adds a type at run time (tests, embedders). It must be registered in the main thread and in every task thread. */
export function registerTaskType(type: TaskType<any>): void {
  if (registry.has(type.name)) throw new Error(`task type '${type.name}' is already registered`);
  registry.set(type.name, type as TaskType);
}

export function getTaskType(name: string): TaskType | undefined {
  return TASK_TYPES.get(name);
}
