/** @jsxImportSource hono/jsx */
// A question a task asked, as the Inbox and the task page show it: the task and its repository, the
// question, how it was routed (the rule, why it matched, any escalation), the deadline as a live
// countdown, and — for operators — the answer box: one button per option, or a free-text answer.
import type { FC } from "hono/jsx";
import type { QuestionView } from "../../src/features/controller/inbox-data.ts";
import type { RequestJson } from "../../src/features/controller/requests.ts";
import { JsonBlock, RelTime, label } from "../components/ui.tsx";

/** Where an answer box lives: its answer replaces the card (Inbox) or the task's question panel. */
export type AnswerFrom = "inbox" | "task";

export const ACTION_TEXT: Record<string, string> = {
  automated: "the model answers",
  human: "a person answers",
  auto_approve: "approved at once",
  deny: "denied at once",
};

/** What happens when a question's deadline passes (the policy's on-timeout action). */
export const ON_TIMEOUT_TEXT: Record<string, string> = {
  auto_answer: "it is answered automatically",
  escalate: "it is escalated",
  deny: "it is denied",
  fail_task: "the task fails",
};

/** "in 3 h 12 min", "in 45 s", or "overdue" — public/app.js keeps it current every second. */
export function countdown(deadline: string | number, now = Date.now()): string {
  const ms = (typeof deadline === "number" ? deadline : Date.parse(deadline)) - now;
  if (ms <= 0) return "overdue";
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `in ${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `in ${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `in ${h} h ${m % 60} min`;
  return `in ${Math.floor(h / 24)} d ${h % 24} h`;
}

const STATUS_TONE: Record<string, string> = { open: "tone-violet", answered: "tone-ok", timed_out: "tone-warn", cancelled: "tone-neutral" };

export const RequestStatusBadge: FC<{ status: RequestJson["status"] }> = ({ status }) => (
  <span class={`badge ${STATUS_TONE[status] ?? "tone-neutral"}`} data-request-status={status}>
    {label(status)}
  </span>
);

export const Deadline: FC<{ request: RequestJson }> = ({ request: r }) =>
  r.deadline_at ? (
    <span class="badge tone-warn whitespace-normal text-left" data-deadline="">
      <span>
        deadline{" "}
        <time datetime={r.deadline_at} data-countdown="" title={r.deadline_at.replace("T", " ").replace(/\.\d+Z$/, " UTC")}>
          {countdown(r.deadline_at)}
        </time>
        ; then {ON_TIMEOUT_TEXT[r.route.on_timeout] ?? r.route.on_timeout}
      </span>
    </span>
  ) : (
    <span class="badge tone-neutral">no deadline</span>
  );

/** How the question was routed: the rule, why it matched, and any escalation reason. */
export const RouteInfo: FC<{ request: RequestJson }> = ({ request: r }) => (
  <div class="flex flex-col gap-1 text-xs">
    <p class="text-muted" data-route="">
      Routed by <strong class="text-fg">{r.route.policy_name ?? "the default rule"}</strong> ({ACTION_TEXT[r.route.action] ?? r.route.action})
      {r.route.reason ? <>: {r.route.reason}</> : null}
    </p>
    {r.escalation_reason ? (
      <p class="rounded-md tone-warn px-2 py-1" data-escalation="">
        <strong>Escalated:</strong> {r.escalation_reason}
      </p>
    ) : null}
  </div>
);

export const TaskLine: FC<{ q: QuestionView }> = ({ q }) =>
  q.task ? (
    <div class="min-w-0">
      <a href={`/tasks/${q.task.id}`} class="break-words font-medium hover:underline" data-task-link="">
        {q.task.title}
      </a>
      <p class="flex flex-wrap gap-x-2 text-xs text-muted">
        <code>{q.task.task_type}</code>
        <span class="break-all" data-repository="">
          {q.task.repository_url ?? "no repository"}
        </span>
        <span>permission: {q.task.permission_level}</span>
        <span>
          asked <RelTime at={q.request.created_at} />
        </span>
      </p>
    </div>
  ) : (
    <p class="text-sm text-muted">task {q.request.task_id} (deleted)</p>
  );

export interface AnswerBoxProps {
  request: RequestJson;
  from: AnswerFrom;
  error?: string;
  /** Keep the typed answer when the list around it refreshes (false where an enclosing element is kept instead). */
  preserve?: boolean;
}

/** The answer form: a button per option, else a free-text answer (kept while the list refreshes: hx-preserve). */
export const AnswerBox: FC<AnswerBoxProps> = ({ request: r, from, error, preserve = true }) => {
  const action = `/inbox/${r.id}/respond`;
  // On the Inbox the answer replaces its card; on the task page, the content of the question panel.
  const target = from === "task" ? "#task-questions" : `#request-${r.id}`;
  const swap = from === "task" ? "innerHTML" : "outerHTML";
  const errorId = `answer-${r.id}-error`;
  return (
    <form method="post" action={action} hx-post={action} hx-target={target} hx-swap={swap} class="flex flex-col gap-2" data-answer-form="" novalidate>
      <input type="hidden" name="from" value={from} />
      {r.options.length > 0 ? (
        <div class="flex flex-wrap gap-2" role="group" aria-label="Answer with one of the options">
          {r.options.map((o) => (
            <button type="submit" name="answer" value={o} class="btn max-w-full whitespace-normal break-words text-left" data-answer={o}>
              {o}
            </button>
          ))}
        </div>
      ) : (
        <>
          <label class="label mb-0" for={`answer-${r.id}`}>
            Your answer
          </label>
          <textarea
            id={`answer-${r.id}`}
            name="answer"
            rows={3}
            maxlength={20000}
            class={`field${error ? " field-error" : ""}`}
            required
            hx-preserve={preserve ? "true" : undefined}
            aria-invalid={error ? "true" : undefined}
            aria-describedby={error ? errorId : undefined}
            placeholder="Type the answer the task will receive"
          ></textarea>
          <div class="flex justify-end">
            <button type="submit" class="btn-primary" data-answer-send="">
              <span class="spinner htmx-indicator" aria-hidden="true" />
              Send answer
            </button>
          </div>
        </>
      )}
      {error ? (
        <p class="error-text" id={errorId} role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
};

export interface QuestionCardProps {
  q: QuestionView;
  from: AnswerFrom;
  /** Operators and admins answer; viewers read. */
  canAnswer: boolean;
  error?: string;
  /** On the task page the task line is redundant. */
  hideTask?: boolean;
}

/** An open question: to answer (with a person) or being answered (with the model, its answer streaming in). */
export const QuestionCard: FC<QuestionCardProps> = ({ q, from, canAnswer, error, hideTask }) => {
  const r = q.request;
  const withModel = r.handler === "automated";
  return (
    <article id={`request-${r.id}`} class="card flex min-w-0 flex-col gap-3 p-4" data-request-id={r.id} data-handler={r.handler} aria-label={`Question: ${r.question.slice(0, 80)}`}>
      <div class="flex flex-wrap items-start justify-between gap-2">
        {hideTask ? <span class="text-sm font-semibold">{withModel ? "The model is answering a question" : "This task is waiting for an answer"}</span> : <TaskLine q={q} />}
        <div class="flex flex-wrap items-center gap-1">
          {r.category ? <span class="badge tone-info">{r.category}</span> : null}
          <Deadline request={r} />
        </div>
      </div>
      <p class="whitespace-pre-wrap break-words text-base" data-question="">
        {r.question}
      </p>
      {r.context != null ? (
        <details>
          <summary class="cursor-pointer text-xs text-muted">What the task added</summary>
          <div class="mt-1">
            <JsonBlock value={r.context} />
          </div>
        </details>
      ) : null}
      <RouteInfo request={r} />
      {withModel ? (
        <div class="flex flex-col gap-1" data-draft="">
          <p class="flex items-center gap-2 text-xs text-muted">
            <span class="pulse-dot text-violet" aria-hidden="true" />
            {q.draft ? "The model's answer so far:" : "The model is thinking…"}
          </p>
          {q.draft ? <pre class="max-h-60 overflow-auto whitespace-pre-wrap break-words rounded-md bg-surface-2 p-3 text-sm">{q.draft}</pre> : null}
        </div>
      ) : null}
      {canAnswer ? (
        withModel ? (
          // Kept whole (open or not, with what was typed) while the streaming answer refreshes the card.
          <details id={`answer-instead-${r.id}`} hx-preserve="true" open={error ? true : undefined}>
            <summary class="cursor-pointer text-sm">Answer it yourself instead</summary>
            <div class="mt-2">
              <AnswerBox request={r} from={from} error={error} preserve={false} />
            </div>
          </details>
        ) : (
          <AnswerBox request={r} from={from} error={error} />
        )
      ) : (
        <p class="text-xs text-muted" data-read-only="">
          Operators and admins answer questions; you can read them.
        </p>
      )}
    </article>
  );
};

/** A resolved question: what was asked, the answer (or what happened instead), and who or what gave it. */
export const ResolvedItem: FC<{ q: QuestionView; hideTask?: boolean }> = ({ q, hideTask }) => {
  const r = q.request;
  const answer = r.answer ?? (r.denied ? "denied" : r.status === "cancelled" ? "no answer (cancelled)" : "no answer");
  return (
    <li class="flex min-w-0 flex-col gap-1 px-4 py-3" data-request-id={r.id} data-request-status={r.status}>
      <div class="flex flex-wrap items-center gap-2 text-sm">
        <RequestStatusBadge status={r.status} />
        {hideTask || !q.task ? null : (
          <a href={`/tasks/${q.task.id}`} class="min-w-0 break-words font-medium hover:underline">
            {q.task.title}
          </a>
        )}
        <span class="text-xs text-muted">
          <RelTime at={r.resolved_at ?? r.updated_at} />
        </span>
      </div>
      <p class="whitespace-pre-wrap break-words text-sm">{r.question}</p>
      <p class="break-words text-sm">
        <span class="text-muted">Answer: </span>
        <strong data-answer-text="">{answer}</strong>
        {q.resolvedBy ? <span class="text-muted"> — by {q.resolvedBy}</span> : null}
      </p>
      {r.route.policy_name ? <p class="text-xs text-muted">Routed by {r.route.policy_name} ({ACTION_TEXT[r.route.action] ?? r.route.action})</p> : null}
    </li>
  );
};
