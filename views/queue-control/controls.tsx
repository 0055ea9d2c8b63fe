/** @jsxImportSource hono/jsx */
// The queue's state on the Tasks page: a banner while it is paused; for admins, Pause / Resume and Purge.
import type { FC } from "hono/jsx";
import { RelTime } from "../components/ui.tsx";

export interface QueueControlsProps {
  paused: { paused_at: string; paused_by: string | null } | null;
  /** Who paused it, as a name. */
  pausedBy?: string | null;
  isAdmin: boolean;
}

/** The queue's state: a banner while paused; for admins, Pause / Resume and Purge (each asks first). */
export const QueueControls: FC<QueueControlsProps> = ({ paused, pausedBy, isAdmin }) =>
  !paused && !isAdmin ? null : (
    <div
      id="queue-controls"
      class={`mb-3 flex flex-wrap items-center gap-2 rounded-md px-3 py-2 text-sm ${paused ? "tone-warn" : "border border-line"}`}
      role={paused ? "status" : undefined}
      data-queue-paused={paused ? "true" : "false"}
    >
      <span class="min-w-0 flex-1">
        {paused ? (
          <>
            <strong>The queue is paused</strong> since <RelTime at={paused.paused_at} />
            {pausedBy ? ` by ${pausedBy}` : ""}: nothing new starts; running tasks finish.
          </>
        ) : (
          <span class="text-muted">Queue: running</span>
        )}
      </span>
      {isAdmin ? (
        <>
          <form method="post" action={paused ? "/queue/resume" : "/queue/pause"} hx-post={paused ? "/queue/resume" : "/queue/pause"} hx-target="#queue-controls" hx-swap="outerHTML" {...(paused ? {} : { "hx-confirm": "Pause the queue? Nothing new starts — on this server or any remote worker — until you resume it.", "data-confirm-title": "Pause the queue?", "data-confirm-label": "Pause" })}>
            <button type="submit" class="btn btn-sm" data-action={paused ? "queue-resume" : "queue-pause"}>
              {paused ? "Resume" : "Pause"}
            </button>
          </form>
          <form method="post" action="/queue/purge" hx-post="/queue/purge" hx-target="#queue-controls" hx-swap="outerHTML" hx-confirm="Cancel every queued task (all that wait to start)? Running tasks are left alone." data-confirm-title="Purge the queue?" data-confirm-label="Purge">
            <button type="submit" class="btn-danger btn-sm" data-action="queue-purge">
              Purge queued…
            </button>
          </form>
        </>
      ) : null}
    </div>
  );
