/** @jsxImportSource hono/jsx */
// The alert banner above every page: the firing alerts (most severe first), and those resolved in the last
// few minutes; it refreshes itself every 30 s. Nothing shows while all is well.
import type { FC } from "hono/jsx";
import type { AlertJson } from "../../src/features/alerts/service.ts";

export const AlertBanner: FC<{ firing: AlertJson[]; resolved: AlertJson[] }> = ({ firing, resolved }) => {
  const live = { "hx-get": "/alerts/banner", "hx-trigger": "every 30s", "hx-swap": "outerHTML" };
  if (!firing.length && !resolved.length) return <div id="alert-banner" {...live} />;
  const critical = firing.some((a) => a.severity === "critical");
  return (
    <div id="alert-banner" {...live} class="mb-4 flex flex-col gap-2" data-alert-banner="" role="status">
      {firing.length ? (
        <a href="/alerts" class={`flex flex-wrap items-start gap-2 rounded-md px-3 py-2 text-sm hover:opacity-90 ${critical ? "tone-err" : "tone-warn"}`} data-firing={firing.length}>
          <strong class="whitespace-nowrap">
            {firing.length} alert{firing.length === 1 ? "" : "s"} firing
          </strong>
          <span class="min-w-0 flex-1 break-words">
            {firing
              .slice(0, 3)
              .map((a) => `${a.title}: ${a.summary}`)
              .join(" · ")}
            {firing.length > 3 ? ` · and ${firing.length - 3} more` : ""}
          </span>
          <span class="whitespace-nowrap underline">See alerts →</span>
        </a>
      ) : null}
      {resolved.length ? (
        <a href="/alerts" class="flex flex-wrap gap-2 rounded-md tone-ok px-3 py-2 text-sm hover:opacity-90" data-resolved={resolved.length}>
          <strong>Resolved:</strong>
          <span class="min-w-0 flex-1 break-words">{resolved.map((a) => a.title).join(", ")}</span>
        </a>
      ) : null}
    </div>
  );
};
