/** @jsxImportSource hono/jsx */
// /settings: the signed-in user's profile, password, colour theme and active sessions. Each form posts
// on its own and comes back in place (htmx) with its errors inline or a toast.
import { Field, type FormErrors } from "../components/form.tsx";
import type { Child, FC } from "hono/jsx";
import type { LayoutUser } from "../layout.tsx";
import { RoleBadge } from "../layout.tsx";
import { EmptyState, PageHeader, RelTime } from "../components/ui.tsx";
import { FormError, PASSWORD_RULES } from "./parts.tsx";

export type ThemeChoice = "system" | "light" | "dark";

export interface SettingsUser extends LayoutUser {
  email: string | null;
  full_name: string | null;
  created_at: string;
}

export interface SessionRow {
  id: string;
  started_at: string;
  last_refreshed_at: string;
  user_agent: string | null;
  ip: string | null;
  current: boolean;
}

const Section: FC<{ id: string; title: string; description?: string; children?: Child }> = ({ id, title, description, children }) => (
  <section class="card p-4 sm:p-5" aria-labelledby={`${id}-title`}>
    <h2 id={`${id}-title`} class="text-lg font-semibold">
      {title}
    </h2>
    {description ? <p class="mt-1 text-sm text-muted">{description}</p> : null}
    <div class="mt-4">{children}</div>
  </section>
);

export const ProfileForm: FC<{ values: { full_name: string | null; email: string | null }; errors?: FormErrors }> = ({ values, errors = {} }) => (
  <form id="profile-form" method="post" action="/settings/profile" hx-post="/settings/profile" hx-target="this" hx-swap="outerHTML" class="flex flex-col gap-4" novalidate>
    <FormError message={errors._form} />
    <Field form="profile" name="full_name" label="Full name" value={values.full_name} error={errors.full_name} autocomplete="name" maxlength={200} />
    <Field form="profile" name="email" label="Email" type="email" value={values.email} error={errors.email} autocomplete="email" maxlength={254} hint="You can also sign in with it." />
    <div class="flex justify-end">
      <button type="submit" class="btn-primary">
        <span class="spinner htmx-indicator" aria-hidden="true" />
        Save profile
      </button>
    </div>
  </form>
);

export const PasswordForm: FC<{ errors?: FormErrors }> = ({ errors = {} }) => (
  <form id="password-form" method="post" action="/settings/password" hx-post="/settings/password" hx-target="this" hx-swap="outerHTML" class="flex flex-col gap-4" novalidate>
    <FormError message={errors._form} />
    <Field form="password" name="current_password" label="Current password" type="password" error={errors.current_password} autocomplete="current-password" required />
    <Field form="password" name="new_password" label="New password" type="password" error={errors.new_password} hint={PASSWORD_RULES} autocomplete="new-password" required />
    <Field form="password" name="confirm" label="New password again" type="password" error={errors.confirm} autocomplete="new-password" required />
    <div class="flex justify-end">
      <button type="submit" class="btn-primary">
        <span class="spinner htmx-indicator" aria-hidden="true" />
        Change password
      </button>
    </div>
  </form>
);

const THEMES: Array<{ value: ThemeChoice; label: string; hint: string }> = [
  { value: "system", label: "System", hint: "Follow the device's setting" },
  { value: "light", label: "Light", hint: "Always light" },
  { value: "dark", label: "Dark", hint: "Always dark" },
];

export const ThemeForm: FC<{ theme: ThemeChoice }> = ({ theme }) => (
  <form id="theme-form" method="post" action="/settings/theme" class="flex flex-col gap-4">
    <fieldset class="grid gap-2 sm:grid-cols-3">
      <legend class="sr-only">Colour theme</legend>
      {THEMES.map((t) => (
        <label class="flex cursor-pointer items-start gap-2 rounded-md border border-line p-3 hover:bg-surface-2" for={`theme-${t.value}`}>
          <input type="radio" id={`theme-${t.value}`} name="theme" value={t.value} checked={theme === t.value} class="mt-0.5 h-4 w-4 accent-[var(--accent)]" />
          <span>
            <span class="block text-sm font-medium">{t.label}</span>
            <span class="block text-xs text-muted">{t.hint}</span>
          </span>
        </label>
      ))}
    </fieldset>
    <div class="flex justify-end">
      <button type="submit" class="btn-primary">
        Save theme
      </button>
    </div>
  </form>
);

/** "Chrome on Linux" from a user agent; the full string is in the title. */
export function deviceOf(userAgent: string | null): string {
  if (!userAgent) return "Unknown device";
  const ua = userAgent;
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /Firefox\//.test(ua)
      ? "Firefox"
      : /Chrom(e|ium)\//.test(ua)
        ? "Chrome"
        : /Safari\//.test(ua)
          ? "Safari"
          : null;
  const os = /iPhone|iPad/.test(ua) ? "iOS" : /Android/.test(ua) ? "Android" : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : null;
  if (browser) return os ? `${browser} on ${os}` : browser;
  return ua.split(/[\s(]/)[0]!.slice(0, 60) || "Unknown device";
}

/** Reloads itself when another form changed the sessions (a password change ends the others). */
export const SessionList: FC<{ sessions: SessionRow[] }> = ({ sessions }) => (
  <div id="sessions" class="flex flex-col gap-3" hx-get="/settings/sessions" hx-trigger="sessions:changed from:body" hx-swap="outerHTML">
    {sessions.length === 0 ? (
      <EmptyState title="No active sessions" />
    ) : (
      <ul class="flex flex-col divide-y divide-line rounded-md border border-line">
        {sessions.map((s) => (
          <li class="flex flex-wrap items-center justify-between gap-2 px-3 py-2.5" data-session={s.id} data-current={s.current ? "true" : undefined}>
            <div class="min-w-0">
              <p class="flex flex-wrap items-center gap-2 text-sm font-medium">
                <span title={s.user_agent ?? undefined} class="break-words">
                  {deviceOf(s.user_agent)}
                </span>
                {s.current ? <span class="badge tone-ok">This browser</span> : null}
              </p>
              <p class="text-xs text-muted">
                {s.ip ?? "unknown address"} · signed in <RelTime at={s.started_at} /> · last token refresh <RelTime at={s.last_refreshed_at} />
              </p>
            </div>
            {s.current ? null : (
              <form
                method="post"
                action={`/settings/sessions/${s.id}/revoke`}
                hx-post={`/settings/sessions/${s.id}/revoke`}
                hx-target="#sessions"
                hx-swap="outerHTML"
                hx-confirm={`Sign out ${deviceOf(s.user_agent)} (${s.ip ?? "unknown address"})? It will have to sign in again.`}
                data-confirm-title="Revoke this session?"
                data-confirm-label="Revoke"
              >
                <button type="submit" class="btn btn-sm" data-revoke-session="">
                  Revoke
                </button>
              </form>
            )}
          </li>
        ))}
      </ul>
    )}
    <form
      method="post"
      action="/settings/sessions/revoke-all"
      hx-post="/settings/sessions/revoke-all"
      hx-confirm="Sign out of every session, this browser included? Everyone signed in as you will have to sign in again."
      data-confirm-title="Sign out everywhere?"
      data-confirm-label="Sign out everywhere"
      class="flex justify-end"
    >
      <button type="submit" class="btn-danger" data-sign-out-everywhere="">
        Sign out everywhere
      </button>
    </form>
  </div>
);

export interface SettingsPageProps {
  user: SettingsUser;
  theme: ThemeChoice;
  sessions: SessionRow[];
  /** After a failed post without JS: what was typed and what is wrong with it. */
  profile?: { values: { full_name: string | null; email: string | null }; errors: FormErrors };
  passwordErrors?: FormErrors;
}

export const SettingsPage: FC<SettingsPageProps> = ({ user, theme, sessions, profile, passwordErrors }) => (
  <div class="mx-auto flex max-w-3xl flex-col gap-4">
    <PageHeader
      title="Settings"
      subtitle={
        <span class="flex flex-wrap items-center gap-2">
          Signed in as <strong class="text-fg">{user.username}</strong> <RoleBadge role={user.role} /> · account made <RelTime at={user.created_at} />
        </span>
      }
    />
    {user.role === "admin" ? (
      <a href="/settings/models" class="card flex items-center justify-between gap-3 p-4 hover:bg-surface-2" data-settings-models="">
        <span class="min-w-0">
          <span class="block font-semibold">Models</span>
          <span class="block text-sm text-muted">The model questions go to and its API key, the budgets, the webhook, and what the model has cost.</span>
        </span>
        <span aria-hidden="true">→</span>
      </a>
    ) : null}
    <Section id="profile" title="Profile">
      <ProfileForm values={profile?.values ?? user} errors={profile?.errors} />
    </Section>
    {/* Notification preferences (src/features/notifications/routes.tsx), loaded in place. */}
    <div id="notification-settings" hx-get="/settings/notifications" hx-trigger="load" hx-swap="outerHTML" class="card p-4 text-sm text-muted" data-notification-settings-slot="">
      <span class="spinner" aria-hidden="true" /> Loading notification settings… <a class="link" href="/settings/notifications">Open them</a>
    </div>
    <Section id="password" title="Password" description="Changing it signs out every other session of your account.">
      <PasswordForm errors={passwordErrors} />
    </Section>
    <Section id="theme" title="Theme" description="Remembered for your account and in this browser.">
      <ThemeForm theme={theme} />
    </Section>
    <Section id="sessions-section" title="Active sessions" description="Where your account is signed in. Revoke any you do not recognise.">
      <SessionList sessions={sessions} />
    </Section>
  </div>
);
