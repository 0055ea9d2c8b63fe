// Deciding, once at server or worker start, how task commands run: probe bubblewrap, resolve `--sandbox
// auto|bwrap|none` against it, and describe the result as the JobSandbox every job carries.
import { probeSandbox, resolveSandboxMode, type SandboxProbe, type SandboxSetting } from "../sandbox/index.ts";
import type { JobSandbox } from "./protocol.ts";

export interface SandboxSetup {
  sandbox: JobSandbox;
  /** Say it at start: commands run without a sandbox (and why). */
  warning?: string;
  /** Refuse to start: bwrap was asked for and does not work here. */
  error?: string;
  /** What to print: "bwrap (bubblewrap 0.8.0)" or "none". */
  description: string;
}

export function setUpSandbox(
  setting: SandboxSetting,
  paths: { hidePaths: string[]; hideFiles?: string[]; writablePaths?: string[] },
  options: { network?: boolean; probe?: SandboxProbe } = {},
): SandboxSetup {
  const probe = setting === "none" ? { available: false, reason: undefined } : (options.probe ?? probeSandbox());
  const { mode, warning, error } = resolveSandboxMode(setting, probe);
  const sandbox: JobSandbox = {
    mode,
    tools: mode === "bwrap" ? probe.tools : undefined,
    hidePaths: paths.hidePaths,
    hideFiles: paths.hideFiles ?? [],
    writablePaths: paths.writablePaths ?? [],
    // A crashing command must not hand its memory to the host's core handler. (prlimit is checked by the probe.)
    limits: mode === "bwrap" ? { coreBytes: 0 } : undefined,
    network: options.network ?? false,
    unconfinedChosen: setting === "none",
    ...(mode === "none" && setting !== "none" ? { unconfinedReason: probe.reason ?? "bubblewrap does not work here" } : {}),
  };
  return { sandbox, warning, error, description: mode === "bwrap" ? `bwrap${probe.version ? ` (${probe.version})` : ""}` : "none" };
}
