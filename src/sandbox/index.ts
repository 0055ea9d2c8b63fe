// The sandbox every task command runs in: plan (pure), probe, spawn, and crash recovery.
export { sandboxPlan, SandboxPlanError, type SandboxLimits, type SandboxMode, type SandboxOptions, type SpawnPlan } from "./plan.ts";
export { NO_SANDBOX_WARNING, probeSandbox, resolveSandboxMode, type SandboxProbe, type SandboxSetting } from "./probe.ts";
export { killTree, killTreeAndWait, spawnSandboxed, type SandboxedProcess } from "./spawn.ts";
export { killLeftovers, recordProcess, type LeftoverDecision, type ProcessRecord } from "./leftovers.ts";
export { ProcessRecordDir } from "./record-dir.ts";
