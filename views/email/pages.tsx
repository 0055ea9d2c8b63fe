/** @jsxImportSource hono/jsx */
// Email pages: "forgot my password" (a reset link by email), the page a verification link opens (a button,
// so a mail scanner opening the link does not spend it), and the admins' SMTP settings with a test mail.
import type { FC } from "hono/jsx";
import { ErrorsBanner, Field, type FormErrors, type FormValues } from "../components/form.tsx";
import { PageHeader } from "../components/ui.tsx";
import { AuthCard, FormError } from "../auth/parts.tsx";

export const ForgotPasswordPage: FC<{ sent?: boolean; login?: string; error?: string; emailReady: boolean }> = ({ sent, login, error, emailReady }) => (
  <AuthCard title="Forgot your password?" subtitle="We mail a one-time link to the address of your account.">
    {sent ? (
      <p class="text-sm" role="status" data-forgot-sent="">
        If an account with that username or address exists and has an email address, a reset link is on its way. It works once, for an hour.
      </p>
    ) : (
      <form method="post" action="/forgot-password" class="flex flex-col gap-4" id="forgot-form" novalidate>
        <FormError message={error} />
        {emailReady ? null : <p class="rounded-md tone-warn px-3 py-2 text-xs">This server cannot send email yet: ask an admin for a reset link (agentvine user reset-password).</p>}
        <Field name="login" label="Username or email" value={login} autocomplete="username" required autofocus maxlength={254} />
        <button type="submit" class="btn-primary w-full py-2">
          Mail me a reset link
        </button>
      </form>
    )}
    <p class="mt-4 text-sm text-muted">
      <a class="link" href="/login">Back to sign in</a>
    </p>
  </AuthCard>
);

export const VerifyEmailPage: FC<{ token: string; done?: { email: string }; error?: string }> = ({ token, done, error }) => (
  <AuthCard title="Confirm your email address">
    {done ? (
      <p class="text-sm" role="status" data-verified="">
        {done.email} is confirmed. Notifications you asked for by email now reach it.
      </p>
    ) : error ? (
      <p class="text-sm" role="alert" data-verify-invalid="">
        {error}
      </p>
    ) : (
      <form method="post" action="/verify-email" class="flex flex-col gap-4" id="verify-form">
        <input type="hidden" name="token" value={token} />
        <button type="submit" class="btn-primary w-full py-2">
          Confirm this address
        </button>
      </form>
    )}
    <p class="mt-4 text-sm text-muted">
      <a class="link" href="/">Go to AgentVine</a>
    </p>
  </AuthCard>
);

export interface SmtpFormValues extends FormValues {}

export const EmailSettingsPage: FC<{ values: FormValues; hasPassword: boolean; source: string; errors?: FormErrors }> = ({ values, hasPassword, source, errors = {} }) => (
  <div class="mx-auto max-w-2xl">
    <PageHeader title="Email" subtitle="The SMTP server AgentVine sends password resets, verification links and notifications through." />
    <form id="smtp-form" method="post" action="/settings/email" class="card flex flex-col gap-4 p-4 sm:p-5" novalidate>
      <ErrorsBanner errors={errors} fields={["host", "port", "secure", "user", "from", "password"]} />
      <p class="text-xs text-muted" data-smtp-source={source}>
        {source === "settings" ? "Saved here (over the server's --smtp-* flags)." : source === "configuration" ? "From the server's --smtp-* flags / AGENTVINE_SMTP_*; saving here overrides them." : "Not configured: no email is sent."}
      </p>
      <div class="grid gap-4 sm:grid-cols-2">
        <Field form="smtp" name="host" label="SMTP host" value={values.host} error={errors.host} placeholder="smtp.example.com" maxlength={255} />
        <Field form="smtp" name="port" label="Port" value={values.port} error={errors.port} placeholder="587" maxlength={5} />
        <div>
          <label class="label" for="smtp-secure">
            Security
          </label>
          <select id="smtp-secure" name="secure" class="field">
            {[
              ["starttls", "STARTTLS (587)"],
              ["tls", "TLS (465)"],
              ["none", "None (a relay on localhost only)"],
            ].map(([v, t]) => (
              <option value={v} selected={values.secure === v}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <Field form="smtp" name="from" label="Sender" value={values.from} error={errors.from} placeholder="AgentVine <vine@example.com>" maxlength={500} />
        <Field form="smtp" name="user" label="User name" value={values.user} error={errors.user} autocomplete="off" maxlength={500} />
        <Field form="smtp" name="password" label="Password" type="password" error={errors.password} autocomplete="new-password" hint={hasPassword ? "Stored (encrypted). Leave empty to keep it." : "Stored in the encrypted secrets store."} />
      </div>
      <div class="flex flex-wrap justify-end gap-2 border-t border-line pt-4">
        <button type="submit" class="btn-primary">
          Save
        </button>
      </div>
    </form>
    <form method="post" action="/settings/email/test" hx-post="/settings/email/test" hx-swap="none" class="mt-3 flex justify-end">
      <button type="submit" class="btn" data-action="">
        Send me a test mail
      </button>
    </form>
  </div>
);
