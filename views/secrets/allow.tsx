/** @jsxImportSource hono/jsx */
// A secret's allow-list in the Secrets page: a one-line summary on its row, and the fields that edit it
// (in "New secret" and in the row's "Who may use it" form).
import type { FC } from "hono/jsx";
import type { SecretAllow } from "../../src/features/secrets/allow-list.ts";
import { FieldError } from "../components/ui.tsx";

/** "admin and operator tasks · http only · to api.example.com · not on remote workers" */
export function allowSummary(a: SecretAllow): string {
  if (a.roles.length === 0) return "no task may use it (kept for the server's own use)";
  const parts = [`${a.roles.join(" and ")} tasks`];
  parts.push(a.task_types ? `${a.task_types.join(", ")} only` : "any task type");
  if (a.hosts) parts.push(`sent only to ${a.hosts.join(", ")}`);
  parts.push(a.remote_workers ? "remote workers too" : "server threads only");
  return parts.join(" · ");
}

/** The fields of an allow-list (names: allow_roles, allow_task_types, allow_hosts, allow_remote). */
export const AllowFields: FC<{ id: string; allow: SecretAllow; errors?: Record<string, string> }> = ({ id, allow, errors = {} }) => (
  <fieldset class="flex flex-col gap-2" data-allow-fields="">
    <legend class="label">Who may use it</legend>
    <div class="flex flex-wrap gap-4 text-sm">
      {(["admin", "operator"] as const).map((role) => (
        <label class="flex items-center gap-1">
          <input type="checkbox" name="allow_roles" value={role} checked={allow.roles.includes(role)} /> {role}s' tasks
        </label>
      ))}
      <label class="flex items-center gap-1">
        <input type="checkbox" name="allow_remote" value="1" checked={allow.remote_workers} /> remote workers may be sent it
      </label>
    </div>
    <div>
      <label class="label" for={`${id}-types`}>
        Task types (comma separated; empty = any)
      </label>
      <input id={`${id}-types`} name="allow_task_types" class={`field font-mono${errors.task_types ? " field-error" : ""}`} value={(allow.task_types ?? []).join(", ")} placeholder="http" />
      <FieldError error={errors.task_types} />
    </div>
    <div>
      <label class="label" for={`${id}-hosts`}>
        Hosts an http task may send it to (comma separated; empty = any; *.example.com for subdomains)
      </label>
      <input id={`${id}-hosts`} name="allow_hosts" class={`field font-mono${errors.hosts ? " field-error" : ""}`} value={(allow.hosts ?? []).join(", ")} placeholder="api.example.com" />
      <FieldError error={errors.hosts} />
    </div>
  </fieldset>
);

/** Edit one secret's allow-list: a disclosure in its row. */
export const AllowForm: FC<{ name: string; allow: SecretAllow; errors?: Record<string, string>; open?: boolean }> = ({ name, allow, errors, open }) => {
  const id = `allow-${name}`;
  return (
    <details id={id} open={open}>
      <summary class="btn btn-sm cursor-pointer list-none">Who may use it</summary>
      <form method="post" action={`/secrets/${name}/allow`} hx-post={`/secrets/${name}/allow`} hx-target={`#${id}`} hx-swap="outerHTML" class="mt-2 flex max-w-md flex-col gap-2" novalidate>
        <AllowFields id={id} allow={allow} errors={errors} />
        <button type="submit" class="btn-primary btn-sm self-end">
          <span class="spinner htmx-indicator" aria-hidden="true" />
          Save allow-list
        </button>
      </form>
    </details>
  );
};
