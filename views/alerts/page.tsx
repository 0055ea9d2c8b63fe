/** @jsxImportSource hono/jsx */
// The Alerts page: what is firing or about to (pending), what resolved lately, the rules with their
// thresholds (admins change them), and the webhooks alerts go to (admins add, test and remove them).
import type { FC } from "hono/jsx";
import type { AlertJson } from "../../src/features/alerts/service.ts";
import type { AlertWebhookJson } from "../../src/features/alerts/webhooks.ts";
import { EmptyState, PageHeader, RelTime } from "../components/ui.tsx";
import { ErrorsBanner, type FormErrors, type FormValues } from "../components/form.tsx";

export interface RuleRow {
  name: string;
  title: string;
  what: string;
  severity: string;
  settings: Record<string, number | boolean>;
}

const STATUS_TONE = { firing: "tone-err", pending: "tone-warn", resolved: "tone-ok" } as const;

export const AlertList: FC<{ items: AlertJson[] }> = ({ items }) => (
  <div id="alert-list" class="live-region card min-w-0" hx-get="/alerts/list" hx-trigger="every 30s, alerts:changed from:body" hx-swap="outerHTML">
    {items.length === 0 ? (
      <EmptyState title="No alerts">All quiet: no rule has fired. Rules are checked every 15 seconds.</EmptyState>
    ) : (
      <ul class="divide-y divide-line" aria-label="Alerts">
        {items.map((a) => (
          <li id={`alert-${a.id}`} class="flex flex-wrap items-start gap-3 px-4 py-3" data-alert={a.rule} data-status={a.status}>
            <span class={`badge ${STATUS_TONE[a.status]}`}>{a.status}</span>
            <div class="min-w-0 flex-1">
              <p class="font-medium">
                {a.title} <span class={`badge ${a.severity === "critical" ? "tone-err" : "tone-neutral"}`}>{a.severity}</span>
              </p>
              <p class="break-words text-sm">{a.summary}</p>
              <p class="text-xs text-muted">
                {a.status === "pending" ? (
                  <>
                    condition holds since <RelTime at={a.pending_since} />
                  </>
                ) : (
                  <>
                    fired <RelTime at={a.fired_at} />
                  </>
                )}
                {a.resolved_at ? (
                  <>
                    {" "}
                    · resolved <RelTime at={a.resolved_at} />
                  </>
                ) : null}
              </p>
            </div>
          </li>
        ))}
      </ul>
    )}
  </div>
);

const num = (v: number | boolean) => (typeof v === "number" ? String(v) : "");

export const RulesForm: FC<{ rules: RuleRow[]; admin: boolean; errors?: FormErrors }> = ({ rules, admin, errors = {} }) => (
  <form id="rules-form" method="post" action="/alerts/rules" hx-post="/alerts/rules" hx-target="this" hx-swap="outerHTML" class="card flex flex-col gap-3 p-4" novalidate>
    <ErrorsBanner errors={errors} fields={[]} />
    {rules.map((r) => (
      <fieldset class="flex flex-col gap-2 border-b border-line pb-3 last:border-0" data-rule={r.name}>
        <legend class="flex items-center gap-2 font-medium">
          <label class="flex items-center gap-2">
            <input type="checkbox" name={`${r.name}.enabled`} value="1" checked={r.settings.enabled === true} disabled={!admin} />
            {r.title}
          </label>
          <span class={`badge ${r.severity === "critical" ? "tone-err" : "tone-neutral"}`}>{r.severity}</span>
        </legend>
        <p class="text-xs text-muted">Fires when {r.what}.</p>
        <div class="flex flex-wrap gap-3">
          {Object.entries(r.settings)
            .filter(([k]) => k !== "enabled")
            .map(([k, v]) => (
              <label class="flex items-center gap-2 text-sm">
                <span class="text-muted">{k.replace(/_/g, " ")}</span>
                <input type="number" step="any" min="0" name={`${r.name}.${k}`} value={num(v)} class="field w-28" disabled={!admin} />
              </label>
            ))}
        </div>
      </fieldset>
    ))}
    {admin ? (
      <div class="flex justify-end">
        <button type="submit" class="btn-primary">
          <span class="spinner htmx-indicator" aria-hidden="true" />
          Save rules
        </button>
      </div>
    ) : (
      <p class="text-xs text-muted">Admins change the rules.</p>
    )}
  </form>
);

export const WebhookList: FC<{ items: AlertWebhookJson[]; values?: FormValues; errors?: FormErrors }> = ({ items, values = {}, errors = {} }) => (
  <div id="webhook-list" class="card flex min-w-0 flex-col">
    {items.length === 0 ? (
      <EmptyState title="No webhooks yet">Alerts show here and in the banner; add a webhook to have them posted to your chat or pager too.</EmptyState>
    ) : (
      <ul class="divide-y divide-line" aria-label="Webhooks">
        {items.map((w) => (
          <li class="flex flex-wrap items-center gap-2 px-4 py-3" data-webhook={w.name}>
            <div class="min-w-0 flex-1">
              <p class="font-medium">
                {w.name} <span class="badge tone-neutral">{w.format === "slack" ? "Slack" : "JSON"}</span> {w.signed ? <span class="badge tone-info">signed</span> : null}
                {w.enabled ? null : <span class="badge tone-neutral">off</span>}
              </p>
              <p class="break-all text-xs text-muted">{w.url_hint}</p>
            </div>
            <form method="post" action={`/alerts/webhooks/${w.id}/test`} hx-post={`/alerts/webhooks/${w.id}/test`} hx-swap="none">
              <button type="submit" class="btn btn-sm">
                Send test
              </button>
            </form>
            <form method="post" action={`/alerts/webhooks/${w.id}/delete`} hx-post={`/alerts/webhooks/${w.id}/delete`} hx-target="#webhook-list" hx-swap="outerHTML" hx-confirm={`Remove the webhook ${w.name}? Alerts stop going there.`} data-confirm-title="Remove this webhook?" data-confirm-label="Remove">
              <button type="submit" class="btn-danger btn-sm">
                Remove
              </button>
            </form>
          </li>
        ))}
      </ul>
    )}
    <form method="post" action="/alerts/webhooks" hx-post="/alerts/webhooks" hx-target="#webhook-list" hx-swap="outerHTML" class="flex flex-col gap-3 border-t border-line p-4" novalidate>
      <h3 class="font-medium">Add a webhook</h3>
      <ErrorsBanner errors={errors} fields={["name", "url", "format", "secret"]} />
      <div class="grid gap-3 sm:grid-cols-2">
        <label class="text-sm">
          <span class="label">Name</span>
          <input name="name" class={`field${errors.name ? " field-error" : ""}`} value={values.name ?? ""} maxlength={100} required />
          {errors.name ? <span class="error-text">{errors.name}</span> : null}
        </label>
        <label class="text-sm">
          <span class="label">Format</span>
          <select name="format" class="field">
            <option value="json" selected={values.format !== "slack"}>
              JSON (signed with the key below)
            </option>
            <option value="slack" selected={values.format === "slack"}>
              Slack-compatible message
            </option>
          </select>
        </label>
        <label class="text-sm sm:col-span-2">
          <span class="label">URL</span>
          <input name="url" type="url" class={`field font-mono${errors.url ? " field-error" : ""}`} value={values.url ?? ""} placeholder="https://hooks.slack.com/services/…" required />
          {errors.url ? <span class="error-text">{errors.url}</span> : <span class="hint">Kept in the encrypted secrets store; only its host is shown.</span>}
        </label>
        <label class="text-sm sm:col-span-2">
          <span class="label">Signing key (optional)</span>
          <input name="secret" type="password" autocomplete="new-password" class={`field font-mono${errors.secret ? " field-error" : ""}`} />
          {errors.secret ? <span class="error-text">{errors.secret}</span> : <span class="hint">Each post then carries X-AgentVine-Signature: sha256=HMAC of the body.</span>}
        </label>
      </div>
      <div class="flex justify-end">
        <button type="submit" class="btn-primary">
          Add webhook
        </button>
      </div>
    </form>
  </div>
);

export const AlertsPage: FC<{ items: AlertJson[]; rules: RuleRow[]; webhooks: AlertWebhookJson[] | null; admin: boolean }> = ({ items, rules, webhooks, admin }) => (
  <>
    <PageHeader title="Alerts" subtitle="Rules checked in the server every 15 seconds; a firing alert shows in the banner on every page, goes to the webhooks below and to people who asked for it (Settings → Notifications)." />
    <div class="flex flex-col gap-6">
      <section class="flex flex-col gap-2">
        <h2 class="font-semibold">Alerts</h2>
        <AlertList items={items} />
      </section>
      <section class="flex flex-col gap-2">
        <h2 class="font-semibold">Rules</h2>
        <RulesForm rules={rules} admin={admin} />
      </section>
      {webhooks ? (
        <section class="flex flex-col gap-2">
          <h2 class="font-semibold">Webhooks</h2>
          <WebhookList items={webhooks} />
        </section>
      ) : null}
    </div>
  </>
);
