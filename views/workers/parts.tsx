/** @jsxImportSource hono/jsx */
// Pieces both workers pages use: the status indicator, the type and draining badges, capability chips.
import type { FC } from "hono/jsx";
import type { WorkerStatus, WorkerType } from "../../src/db/schema.ts";

// Full class names (not built from parts) so UnoCSS sees every one of them.
const STATUS_TONE: Record<WorkerStatus, string> = { idle: "tone-ok", busy: "tone-warn", offline: "tone-neutral", error: "tone-err" };
const STATUS_TITLE: Record<WorkerStatus, string> = {
  idle: "Heartbeating, no work held",
  busy: "Running work",
  offline: "No heartbeat for 15 s or more",
  error: "Three or more failed executions in a row",
};

export const WorkerStatusBadge: FC<{ status: WorkerStatus }> = ({ status }) => (
  <span class={`badge ${STATUS_TONE[status]}`} data-worker-status={status} title={STATUS_TITLE[status]}>
    <span class={status === "busy" ? "pulse-dot" : "inline-block h-2 w-2 rounded-full bg-current"} aria-hidden="true" />
    {status}
  </span>
);

export const DrainingBadge: FC = () => (
  <span class="badge tone-violet" data-draining="" title="Gets no new work">
    draining
  </span>
);

export const WorkerTypeBadge: FC<{ type: WorkerType }> = ({ type }) => (
  <span class={`badge ${type === "local" ? "tone-info" : "tone-neutral"}`} data-worker-type={type} title={type === "local" ? "This server's own threads" : "A separate agentvine worker process"}>
    {type}
  </span>
);

export const CapabilityChips: FC<{ capabilities: string[]; empty?: string }> = ({ capabilities, empty }) =>
  capabilities.length === 0 ? (
    <span class="text-xs text-muted">{empty ?? "No capabilities"}</span>
  ) : (
    <ul class="flex min-w-0 flex-wrap gap-1" aria-label="Capabilities">
      {capabilities.map((cap) => (
        <li class="max-w-full truncate rounded border border-line bg-surface-2 px-1.5 py-0.5 font-mono text-xs" data-capability={cap}>
          {cap}
        </li>
      ))}
    </ul>
  );

/** "1.5 GB" */
export function bytes(n: number | null | undefined): string {
  if (n == null) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export const percent = (n: number | null | undefined) => (n == null ? "—" : `${n < 10 ? n.toFixed(1) : Math.round(n)} %`);

/** The command a remote worker is started with. */
export const RemoteWorkerHint: FC = () => (
  <p class="text-sm text-muted">
    Run a remote worker on another machine with{" "}
    <code class="break-all rounded bg-surface-2 px-1 py-0.5">agentvine worker --server URL --token KEY</code>, where KEY is an API key of scope{" "}
    <code>worker</code> (an admin creates one under{" "}
    <a class="link" href="/api-keys">
      API keys
    </a>
    ). It registers itself and shows up here.
  </p>
);
