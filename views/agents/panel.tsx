/** @jsxImportSource hono/jsx */
// A coding agent on its task page: what it spent, pause/resume, its transcript as a readable list —
// notes, what the model said, each tool call with its arguments and result — and, once it finished, the
// branch, commit, tests and the diff. Refreshed live by the page's stream (`steps:<task id>`).
import type { FC } from "hono/jsx";
import type { AgentPanel } from "../../src/features/agents/panel-data.ts";
import type { StepJson } from "../../src/features/agents/steps.ts";
import { RelTime, duration } from "../components/ui.tsx";

const usd = (n: number) => `$${n.toFixed(n < 0.01 ? 4 : 2)}`;
const ACTIVE = new Set(["queued", "running", "waiting_input", "pending"]);

/** One line that says what a tool call did (its path, command or pattern), for the closed view. */
function gist(input: unknown): string {
  const o = (input ?? {}) as Record<string, unknown>;
  const v = o.path ?? o.command ?? o.pattern ?? o.question ?? o.summary ?? "";
  const text = String(v);
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}

const NOTE_TITLE: Record<string, string> = { system: "System prompt", instruction: "Instruction", steering: "Message from a person", feedback: "Runner feedback" };

const Step: FC<{ s: StepJson }> = ({ s }) => {
  if (s.kind === "note") {
    return (
      <li class="px-4 py-2" data-step={s.seq} data-kind="note">
        <details open={s.name === "steering"}>
          <summary class="cursor-pointer text-sm">
            <span class="badge tone-neutral mr-2">{NOTE_TITLE[s.name ?? ""] ?? s.name}</span>
            <span class="text-muted">
              <RelTime at={s.created_at} />
            </span>
          </summary>
          <pre class="mt-2 max-h-80 overflow-auto whitespace-pre-wrap break-words rounded-md bg-surface-2 p-2 font-mono text-xs">{String(s.input ?? "")}</pre>
        </details>
      </li>
    );
  }
  if (s.kind === "model") {
    const out = (s.output ?? {}) as { text?: string; toolCalls?: Array<{ name: string; input: unknown }> };
    return (
      <li class="px-4 py-2" data-step={s.seq} data-kind="model">
        <div class="flex flex-wrap items-center gap-2 text-sm">
          <span class="badge tone-info">model</span>
          <span class="text-muted">
            {s.usage ? `${s.usage.input_tokens.toLocaleString("en-US")} in · ${s.usage.output_tokens.toLocaleString("en-US")} out · ${usd(s.usage.cost_usd)}` : null}
            {s.duration_ms != null ? ` · ${duration(s.duration_ms)}` : null}
          </span>
        </div>
        {out.text ? <p class="mt-1 whitespace-pre-wrap break-words text-sm">{out.text}</p> : null}
        {out.toolCalls?.length ? <p class="mt-1 text-xs text-muted">calls {out.toolCalls.map((c) => c.name).join(", ")}</p> : null}
      </li>
    );
  }
  return (
    <li class="px-4 py-2" data-step={s.seq} data-kind="tool">
      <details>
        <summary class="cursor-pointer text-sm">
          <span class={`badge ${s.is_error ? "tone-err" : "tone-neutral"} mr-2`}>{s.name}</span>
          <code class="break-all text-xs">{gist(s.input)}</code>
          {s.duration_ms != null ? <span class="ml-2 text-xs text-muted">{duration(s.duration_ms)}</span> : null}
        </summary>
        <pre class="mt-2 max-h-96 overflow-auto whitespace-pre-wrap break-words rounded-md bg-surface-2 p-2 font-mono text-xs">{String(s.output ?? "")}</pre>
      </details>
    </li>
  );
};

/** The unified diff, each line marked added, removed or context (colours by class: no inline style). */
const Diff: FC<{ text: string }> = ({ text }) => (
  <pre class="max-h-[32rem] overflow-auto rounded-md bg-surface-2 p-2 font-mono text-xs" data-diff="">
    {text.split("\n").map((line) => (
      <span class={`block whitespace-pre ${line.startsWith("+") && !line.startsWith("+++") ? "text-ok" : line.startsWith("-") && !line.startsWith("---") ? "text-err" : line.startsWith("@@") ? "text-muted" : ""}`}>{line || " "}</span>
    ))}
  </pre>
);

export const AgentPanelBody: FC<{ panel: AgentPanel; canAct: boolean }> = ({ panel, canAct }) => {
  const { steps, usage, outcome } = panel;
  const running = ACTIVE.has(panel.status);
  const tests = outcome?.tests;
  return (
    <>
      <div class="flex flex-wrap items-center gap-x-4 gap-y-2 border-b border-line px-4 py-3 text-sm">
        <h2 class="text-base font-semibold">Agent</h2>
        <span data-agent-usage="">
          {usage.model_calls} model call{usage.model_calls === 1 ? "" : "s"} · {(usage.input_tokens + usage.output_tokens).toLocaleString("en-US")} tokens · {usd(usage.cost_usd)}
        </span>
        {panel.paused ? <span class="badge tone-warn">paused</span> : null}
        <span class="flex-1" />
        {canAct && running ? (
          <form method="post" action={`/tasks/${panel.taskId}/agent/${panel.paused ? "resume" : "pause"}`} hx-post={`/tasks/${panel.taskId}/agent/${panel.paused ? "resume" : "pause"}`} hx-target="#agent-work" hx-swap="innerHTML">
            <button type="submit" class="btn btn-sm">
              {panel.paused ? "Resume" : "Pause"}
            </button>
          </form>
        ) : null}
      </div>
      {outcome ? (
        <div class="flex flex-col gap-2 border-b border-line px-4 py-3 text-sm" data-agent-outcome="">
          {outcome.summary ? <p class="whitespace-pre-wrap break-words">{outcome.summary}</p> : null}
          <dl class="grid grid-cols-2 gap-2 sm:grid-cols-4">
            <div class="min-w-0">
              <dt class="text-muted">Branch</dt>
              <dd class="break-all font-mono text-xs" data-branch="">{outcome.branch ?? "—"}</dd>
            </div>
            <div class="min-w-0">
              <dt class="text-muted">Commit</dt>
              <dd class="break-all font-mono text-xs">{outcome.commit ? outcome.commit.slice(0, 12) : "none"}</dd>
            </div>
            <div class="min-w-0">
              <dt class="text-muted">Tests</dt>
              <dd>{tests?.command ? `${tests.before ? (tests.before.passed ? "passed" : "failed") : "—"} → ${tests.after ? (tests.after.passed ? "passed" : "failed") : "—"}` : "none found"}</dd>
            </div>
            <div class="min-w-0">
              <dt class="text-muted">Changes</dt>
              <dd>{outcome.diffStat ? `${outcome.diffStat.files_changed} file(s), +${outcome.diffStat.insertions} −${outcome.diffStat.deletions}` : "—"}</dd>
            </div>
          </dl>
          {outcome.pullRequest ? (
            <a class="link" href={outcome.pullRequest.url} rel="noopener noreferrer">
              Pull request #{outcome.pullRequest.number}
            </a>
          ) : null}
          {outcome.diff ? (
            <details>
              <summary class="cursor-pointer font-semibold">The diff</summary>
              <Diff text={outcome.diff} />
            </details>
          ) : null}
        </div>
      ) : null}
      {steps.length === 0 ? (
        <p class="px-4 py-3 text-sm text-muted">{running ? "Starting: the worktree is being prepared." : "No steps were recorded."}</p>
      ) : (
        <ol class="divide-y divide-line" aria-label="The agent's steps">
          {steps.map((s) => (
            <Step s={s} />
          ))}
        </ol>
      )}
    </>
  );
};

export const AgentPanelSection: FC<{ panel: AgentPanel; canAct: boolean }> = (props) => (
  <section id="agent-work" class="card min-w-0" aria-label="The agent's work" hx-get={`/tasks/${props.panel.taskId}/agent`} hx-trigger="sse:steps" hx-swap="innerHTML">
    <AgentPanelBody {...props} />
  </section>
);
