/** @jsxImportSource hono/jsx */
// The live log tail of one execution: history rendered with the page, new lines appended from the
// event stream (`sse-swap="log"`), levels filtered in CSS so switching the filter costs no request.
import type { FC } from "hono/jsx";
import { LOG_LEVELS } from "../../src/db/schema.ts";

export interface LogLineView {
  seq: number;
  level: string;
  message: string;
  ts: number;
}

const LEVEL_CLASS: Record<string, string> = {
  debug: "lvl-debug text-muted",
  info: "lvl-info",
  warn: "lvl-warn text-warn",
  error: "lvl-error text-err",
};

const time = (ts: number) => new Date(ts).toISOString().slice(11, 23);

export const LogLine: FC<{ line: LogLineView }> = ({ line }) => (
  <li class={`${LEVEL_CLASS[line.level] ?? ""} flex gap-2 px-3 py-px`} data-seq={line.seq}>
    <span class="shrink-0 select-none text-muted">{time(line.ts)}</span>
    <span class="w-10 shrink-0 select-none uppercase">{line.level}</span>
    <span class="min-w-0 whitespace-pre-wrap break-words">{line.message}</span>
  </li>
);

/** The HTML of some lines, for the `log` event of the stream (rendered once for every subscriber). */
export function renderLogLines(lines: LogLineView[]): string {
  return lines.map((line) => String(<LogLine line={line} />)).join("");
}

export interface LogPanelProps {
  executionId: string | null;
  lines: LogLineView[];
  /** Lines before the first shown (the tail is cut). */
  skipped: number;
  level: string;
  running: boolean;
  attempt?: number;
  /** Where the whole log downloads as text (absent: no download link). */
  downloadHref?: string;
}

export const LogPanel: FC<LogPanelProps> = ({ executionId, lines, skipped, level, running, attempt, downloadHref }) => {
  const listId = "log-lines";
  return (
    <section class="card min-w-0" aria-labelledby="logs-title">
      <div class="flex flex-wrap items-center justify-between gap-2 border-b border-line px-3 py-2">
        <h2 id="logs-title" class="font-semibold">
          Logs{attempt ? <span class="ml-1 text-sm font-normal text-muted">attempt {attempt}</span> : null}
          {running ? (
            <span class="badge tone-warn ml-2">
              <span class="pulse-dot" aria-hidden="true" />
              live
            </span>
          ) : null}
        </h2>
        <form class="flex flex-wrap items-center gap-2" data-log-filter="" method="get" role="search" aria-label="Filter the log">
          <label for="log-search" class="sr-only">
            Search the log
          </label>
          <input
            id="log-search"
            type="search"
            name="find"
            class="field w-36 py-1 text-xs sm:w-44"
            placeholder="Search the log…"
            data-log-search=""
            aria-controls={listId}
            autocomplete="off"
          />
          <label for="log-level" class="text-xs text-muted">
            Level
          </label>
          <select id="log-level" name="level" class="field w-auto py-1 text-xs" data-log-level="" aria-controls={listId}>
            {LOG_LEVELS.map((l) => (
              <option value={l} selected={l === level}>
                {l === "debug" ? "all" : `${l} and up`}
              </option>
            ))}
          </select>
          {running ? (
            <label class="flex items-center gap-1 text-xs text-muted" title="Scroll to each new line as it arrives">
              <input type="checkbox" class="h-4 w-4 accent-[var(--accent)]" data-log-follow="" aria-controls={listId} checked />
              Follow
            </label>
          ) : null}
          <noscript>
            <button type="submit" class="btn btn-sm">
              Apply
            </button>
          </noscript>
          {executionId && downloadHref ? (
            <a class="link text-xs" href={downloadHref} download="" data-log-download="">
              Download
            </a>
          ) : null}
          {executionId ? (
            <a class="link text-xs" href={`/api/v1/executions/${executionId}/logs?limit=10000`}>
              JSON
            </a>
          ) : null}
        </form>
      </div>
      {skipped > 0 ? <p class="border-b border-line px-3 py-1 text-xs text-muted">{skipped} earlier lines not shown</p> : null}
      <p class="hidden border-b border-line px-3 py-1 text-xs text-muted" data-log-matches="" aria-live="polite"></p>
      <ol
        id={listId}
        class="logs max-h-[28rem] min-h-24 overflow-auto py-2 font-mono text-xs leading-5"
        data-min={level}
        data-execution={executionId ?? undefined}
        sse-swap={executionId && running ? "log" : undefined}
        hx-swap="beforeend"
        aria-live="off"
        tabindex={0}
        aria-label="Log lines"
      >
        {lines.length === 0 ? (
          <li class="px-3 py-2 text-muted" data-log-empty="">
            {executionId ? (running ? "Waiting for output…" : "This attempt wrote no log lines.") : "No attempt yet: the task has not started."}
          </li>
        ) : (
          lines.map((line) => <LogLine line={line} />)
        )}
      </ol>
    </section>
  );
};
