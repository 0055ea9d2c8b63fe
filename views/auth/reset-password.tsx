/** @jsxImportSource hono/jsx */
// The page a password-reset link opens (`agentvine user reset-password NAME` prints it): the new password
// twice; a link that cannot be used says so instead.
import { Field, type FormErrors } from "../components/form.tsx";
import type { FC } from "hono/jsx";
import { AuthCard, FormError, PASSWORD_RULES } from "./parts.tsx";

export const ResetPasswordPage: FC<{ token: string; errors?: FormErrors }> = ({ token, errors = {} }) => (
  <AuthCard title="Choose a new password" subtitle="Signing in with it ends every other session of your account.">
    <form method="post" action="/reset-password" class="flex flex-col gap-4" id="reset-form" novalidate>
      {Object.keys(errors).length > 0 ? <FormError message={errors._form ?? "Please fix the fields marked below."} /> : null}
      <input type="hidden" name="token" value={token} />
      <Field name="new_password" label="New password" type="password" error={errors.new_password} hint={PASSWORD_RULES} autocomplete="new-password" required autofocus />
      <Field name="confirm" label="New password again" type="password" error={errors.confirm} autocomplete="new-password" required />
      <button type="submit" class="btn-primary w-full py-2">
        Set the password
      </button>
    </form>
  </AuthCard>
);

export const ResetLinkInvalid: FC<{ message: string }> = ({ message }) => (
  <AuthCard title="This link cannot be used">
    <p class="text-sm" role="alert" data-reset-invalid="">
      {message}
    </p>
    <p class="mt-4 text-sm text-muted">
      <a class="link" href="/login">Back to sign in</a>
    </p>
  </AuthCard>
);
