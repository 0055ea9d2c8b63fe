// Steps that run commands on the server's host (task types with `runsOnHost`, e.g. `shell`): who may save
// them, and whether a saved version may run. Saving is the act that decides what runs — an operator who
// could edit an admin's plan would otherwise have the admin's next run execute the operator's command.
import { AppError } from "../../errors.ts";
import { getTaskType } from "../../task-types/index.ts";
import type { Acting } from "../audit/service.ts";

interface StepLike {
  name: string;
  task_type: string;
}

/** The steps whose task type runs commands on the host. */
export function hostSteps<S extends StepLike>(steps: S[]): S[] {
  return steps.filter((s) => getTaskType(s.task_type)?.runsOnHost === true);
}

/** Whether `acting` has the shell role (absent = the system or the offline CLI, which may). */
export const mayRunHostCommands = (acting: Acting | undefined) => !acting || acting.hostCommands !== false;

export const SHELL_ROLE_RULE = "the role set by --shell-role (admin unless an admin allows operators)";

/**
 * 403 unless `acting` may save steps that run commands on the host. Plans call it on create and update
 * (restoring an old version is saving it again). Schedules, when they land, must call it on create, update
 * and restore too, and record `host_commands` on what they store, exactly as plan versions do.
 */
export function assertMaySaveHostSteps(acting: Acting | undefined, steps: StepLike[], what = "plan"): void {
  if (mayRunHostCommands(acting)) return;
  const step = hostSteps(steps)[0];
  if (!step) return;
  throw new AppError(
    403,
    "forbidden",
    `step '${step.name}': '${step.task_type}' steps run commands on the server's host, which can read its database and keys: saving a ${what} with one needs ${SHELL_ROLE_RULE}`,
    [{ field: "steps", message: `step '${step.name}' (${step.task_type}) needs ${SHELL_ROLE_RULE} to save` }],
  );
}

/**
 * Why a saved version may not run, or null: it has a host step and its author did not have the shell role
 * when saving it (`hostCommands` 0), or it was saved before authors were recorded (null).
 */
export function runBlockedReason(version: number, steps: StepLike[], hostCommands: number | null): string | null {
  const step = hostSteps(steps)[0];
  if (!step || hostCommands === 1) return null;
  const who = hostCommands === 0 ? "by someone without the shell role" : "before authors were recorded";
  return (
    `version ${version} has a step that runs commands on the server's host ('${step.name}': ${step.task_type}) and was saved ${who}: ` +
    `it runs once someone with ${SHELL_ROLE_RULE} has reviewed and saved it`
  );
}
