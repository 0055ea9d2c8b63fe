/** @jsxImportSource hono/jsx */
// Notifications: my in-app list (newest first, mark all read), and the Settings section where I choose
// which events reach me — a question waiting for me, a task of mine failed, an alert — and how.
import type { FC } from "hono/jsx";
import type { NotificationJson } from "../../src/features/notifications/notifier.ts";
import type { PreferencesJson } from "../../src/features/notifications/preferences.ts";
import { ErrorsBanner, type FormErrors } from "../components/form.tsx";
import { EmptyState, PageHeader, RelTime } from "../components/ui.tsx";

const KIND = { question: "Question", task_failed: "Task failed", alert: "Alert" } as const;

export const NotificationList: FC<{ items: NotificationJson[] }> = ({ items }) => (
  <div id="notification-list" class="live-region card min-w-0" hx-get="/notifications" hx-trigger="every 30s" hx-swap="outerHTML">
    {items.length === 0 ? (
      <EmptyState title="Nothing yet">Questions waiting for you, your failed tasks and alerts show here (choose which on your Settings page).</EmptyState>
    ) : (
      <ul class="divide-y divide-line" aria-label="Notifications">
        {items.map((n) => (
          <li class={`flex items-start gap-3 px-4 py-3 ${n.read_at ? "" : "bg-surface-2"}`} data-notification={n.kind} data-unread={n.read_at ? undefined : ""}>
            <span class={`badge ${n.kind === "alert" ? "tone-warn" : n.kind === "task_failed" ? "tone-err" : "tone-violet"}`}>{KIND[n.kind]}</span>
            <div class="min-w-0 flex-1">
              {n.url ? (
                <a class="link break-words font-medium" href={n.url}>
                  {n.title}
                </a>
              ) : (
                <p class="break-words font-medium">{n.title}</p>
              )}
              {n.body ? <p class="break-words text-sm text-muted">{n.body}</p> : null}
              <p class="text-xs text-muted">
                <RelTime at={n.created_at} />
              </p>
            </div>
          </li>
        ))}
      </ul>
    )}
  </div>
);

export const NotificationsPage: FC<{ items: NotificationJson[]; unread: number }> = ({ items, unread }) => (
  <>
    <PageHeader
      title="Notifications"
      subtitle={`${unread} unread`}
      actions={
        <>
          <a class="btn" href="/settings/notifications">
            Choose what reaches me
          </a>
          <form method="post" action="/notifications/read">
            <button type="submit" class="btn-primary" disabled={unread === 0}>
              Mark all read
            </button>
          </form>
        </>
      }
    />
    <NotificationList items={items} />
  </>
);

const EVENTS = [
  ["question", "A question waits for me", "on a task I created or am assigned (tasks nobody owns: every operator and admin)"],
  ["task_failed", "A task of mine failed", "or timed out; a plan run once, not each step"],
  ["alert", "An alert fired or resolved", "the rules on the Alerts page"],
] as const;

export const NotificationSettings: FC<{ prefs: PreferencesJson; errors?: FormErrors; canMail: boolean }> = ({ prefs, errors = {}, canMail }) => (
  <form id="notification-settings" method="post" action="/settings/notifications" hx-post="/settings/notifications" hx-target="this" hx-swap="outerHTML" class="card flex flex-col gap-4 p-4" novalidate>
    <h2 class="font-semibold">Notifications</h2>
    <ErrorsBanner errors={errors} fields={["webhook_url", "webhook_secret"]} />
    <div class="relative overflow-x-auto">
      <table class="text-sm">
        <thead>
          <tr>
            <th class="th">Event</th>
            <th class="th">In the app</th>
            <th class="th">Email</th>
            <th class="th">Webhook</th>
          </tr>
        </thead>
        <tbody class="divide-y divide-line">
          {EVENTS.map(([key, title, hint]) => (
            <tr data-event={key}>
              <td class="td">
                <p class="font-medium">{title}</p>
                <p class="text-xs text-muted">{hint}</p>
              </td>
              {(["in_app", "email", "webhook"] as const).map((ch) => (
                <td class="td">
                  <input type="checkbox" name={`${key}.${ch}`} value="1" checked={prefs[key][ch]} aria-label={`${title}: ${ch.replace("_", "-")}`} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
    <p class="text-xs text-muted" data-email-state={prefs.email_verified ? "verified" : prefs.email ? "unverified" : "none"}>
      {prefs.email ? (prefs.email_verified ? `Email goes to ${prefs.email} (verified).` : `Email goes to verified addresses only: ${prefs.email} is not verified yet.`) : "Add an email address to your profile to get email."}
      {canMail ? "" : " This server does not send email yet (an admin sets SMTP up)."}
    </p>
    <div class="grid gap-3 sm:grid-cols-2">
      <label class="text-sm">
        <span class="label">My webhook URL</span>
        <input name="webhook_url" type="url" class={`field font-mono${errors.webhook_url ? " field-error" : ""}`} placeholder={prefs.webhook_url_hint ?? "https://…"} />
        {errors.webhook_url ? <span class="error-text">{errors.webhook_url}</span> : <span class="hint">{prefs.webhook_url_hint ? `Set (${prefs.webhook_url_hint}); leave empty to keep it.` : "JSON posts, like the alert webhooks."}</span>}
      </label>
      <label class="text-sm">
        <span class="label">Its signing key (optional)</span>
        <input name="webhook_secret" type="password" autocomplete="new-password" class={`field font-mono${errors.webhook_secret ? " field-error" : ""}`} />
        <span class="hint">{prefs.webhook_signed ? "Set; leave empty to keep it." : "X-AgentVine-Signature: sha256=HMAC of the body."}</span>
      </label>
    </div>
    {prefs.webhook_url_hint ? (
      <label class="flex items-center gap-2 text-sm">
        <input type="checkbox" name="remove_webhook" value="1" /> Remove my webhook
      </label>
    ) : null}
    <div class="flex flex-wrap justify-end gap-2">
      {prefs.email && !prefs.email_verified && canMail ? (
        <button type="submit" class="btn" formaction="/settings/verify-email" hx-post="/settings/verify-email" hx-swap="none" data-send-verification="">
          Send me a verification link
        </button>
      ) : null}
      <button type="submit" class="btn-primary">
        Save notifications
      </button>
    </div>
  </form>
);

export const NotificationSettingsPage: FC<{ prefs: PreferencesJson; canMail: boolean }> = (props) => (
  <div class="mx-auto max-w-3xl">
    <PageHeader title="Notification settings" subtitle={<a class="link" href="/settings">← Settings</a>} />
    <NotificationSettings {...props} />
  </div>
);
