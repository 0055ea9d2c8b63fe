/** @jsxImportSource hono/jsx */
// The chat's context sidebar: the conversation's task (its fields), its plan run with every step's state,
// and the context documents linked to it — those of its repository and those the controller gave the model
// for its questions. Each part is a collapsible section.
import type { FC } from "hono/jsx";
import type { TaskJson } from "../../src/engine/task-record.ts";
import { JsonBlock, label, RelTime, StatusBadge } from "../components/ui.tsx";

export interface SidebarDocument {
  id: string;
  title: string;
  document_type: string;
  version: number;
  /** Why it is listed. */
  why: string;
}

export interface ContextSidebarProps {
  task: TaskJson | null;
  run: { id: string; name: string; planId: string | null; steps: Array<{ taskId: string; name: string; status: string }> } | null;
  documents: SidebarDocument[];
  conversation: { id: string; title: string; created_at: string };
}

const Row: FC<{ name: string; children?: unknown }> = ({ name, children }) => (
  <div class="flex gap-2 py-0.5">
    <dt class="w-24 shrink-0 text-muted">{name}</dt>
    <dd class="min-w-0 flex-1 break-words">{children as never}</dd>
  </div>
);

export const ContextSidebar: FC<ContextSidebarProps> = ({ task, run, documents, conversation }) => (
  <div class="flex flex-col gap-3 text-sm" data-context-sidebar="">
    {task ? (
      <details open class="group" data-context-section="task">
        <summary class="cursor-pointer font-semibold">The task</summary>
        <dl class="mt-2 text-xs">
          <Row name="Title">
            <a class="link" href={`/tasks/${task.id}`}>
              {task.title}
            </a>
          </Row>
          <Row name="Status">
            <StatusBadge status={task.status} />
          </Row>
          <Row name="Type">{task.task_type}</Row>
          <Row name="Priority">{task.priority}</Row>
          <Row name="Permission">{label(task.permission_level)}</Row>
          {task.repository_url ? <Row name="Repository">{task.repository_url}</Row> : null}
          {task.branch_name ? <Row name="Branch">{task.branch_name}</Row> : null}
          {task.issue_number != null ? <Row name="Issue">#{task.issue_number}</Row> : null}
          {task.pr_number != null ? <Row name="Pull request">#{task.pr_number}</Row> : null}
          {task.assigned_to ? <Row name="Assigned to">{task.assigned_to}</Row> : null}
          <Row name="Created">
            <RelTime at={task.created_at} />
          </Row>
          {task.error ? <Row name="Error">{task.error}</Row> : null}
        </dl>
        {task.description ? <p class="mt-2 whitespace-pre-wrap break-words text-xs">{task.description}</p> : null}
        <details class="mt-2">
          <summary class="cursor-pointer text-xs text-muted">Params</summary>
          <JsonBlock value={task.params} empty="No params" />
        </details>
      </details>
    ) : (
      <div data-context-section="general">
        <p class="font-semibold">General conversation</p>
        <p class="text-xs text-muted">
          Started <RelTime at={conversation.created_at} />; not about one task.
        </p>
      </div>
    )}
    {run ? (
      <details open data-context-section="plan">
        <summary class="cursor-pointer font-semibold">Plan run: {run.name}</summary>
        <ol class="mt-2 flex flex-col gap-1 text-xs">
          {run.steps.map((s) => (
            <li class="flex items-center gap-2">
              <StatusBadge status={s.status} />
              <a class={`min-w-0 flex-1 truncate hover:underline ${task && s.taskId === task.id ? "font-semibold" : ""}`} href={`/tasks/${s.taskId}`}>
                {s.name}
              </a>
            </li>
          ))}
        </ol>
        {run.planId ? (
          <a class="link mt-1 inline-block text-xs" href={`/plans/${run.planId}/runs/${run.id}`}>
            Open the run
          </a>
        ) : null}
      </details>
    ) : null}
    <details open data-context-section="documents">
      <summary class="cursor-pointer font-semibold">Context documents ({documents.length})</summary>
      {documents.length === 0 ? (
        <p class="mt-2 text-xs text-muted">
          None linked yet: documents of the task's repository, and those the controller uses to answer its questions, show here.{" "}
          <a class="link" href="/context">
            Browse documents
          </a>
        </p>
      ) : (
        <ul class="mt-2 flex flex-col gap-1.5 text-xs">
          {documents.map((d) => (
            <li>
              <a class="link font-medium" href={`/context/${d.id}`}>
                {d.title}
              </a>{" "}
              <span class="badge tone-neutral">{d.document_type}</span> <span class="text-muted">v{d.version}</span>
              <p class="text-muted">{d.why}</p>
            </li>
          ))}
        </ul>
      )}
    </details>
  </div>
);
