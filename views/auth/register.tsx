/** @jsxImportSource hono/jsx */
// The registration page: the first account becomes the admin (the page says so); when registration is
// closed, a message instead of the form.
import { Field, type FormErrors } from "../components/form.tsx";
import type { FC } from "hono/jsx";
import { AuthCard, FormError, PASSWORD_RULES } from "./parts.tsx";

export interface RegisterPageProps {
  firstUser: boolean;
  values?: { username?: string; email?: string; full_name?: string };
  errors?: FormErrors;
}

export const RegisterPage: FC<RegisterPageProps> = ({ firstUser, values = {}, errors = {} }) => (
  <AuthCard title="Create an account" subtitle={firstUser ? null : "New accounts start as viewers: an admin can give you more."}>
    {firstUser ? (
      <div class="mb-4 rounded-md tone-info px-3 py-2 text-sm" role="status" data-first-user="">
        This is the first account on this server: it becomes the <strong>admin</strong>.
      </div>
    ) : null}
    <form method="post" action="/register" class="flex flex-col gap-4" id="register-form" novalidate>
      {Object.keys(errors).length > 0 ? <FormError message={errors._form ?? "Please fix the fields marked below."} /> : null}
      <Field
        name="username"
        label="Username"
        value={values.username}
        error={errors.username}
        hint="3 to 64 characters: letters, digits, '.', '_' or '-'."
        autocomplete="username"
        required
        autofocus
        maxlength={64}
      />
      <Field name="email" label="Email" type="email" value={values.email} error={errors.email} autocomplete="email" maxlength={254} />
      <Field name="full_name" label="Full name" value={values.full_name} error={errors.full_name} autocomplete="name" maxlength={200} />
      <Field name="password" label="Password" type="password" error={errors.password} hint={PASSWORD_RULES} autocomplete="new-password" required />
      <Field name="confirm" label="Password again" type="password" error={errors.confirm} autocomplete="new-password" required />
      <button type="submit" class="btn-primary w-full py-2">
        Create account
      </button>
    </form>
    <p class="mt-4 text-sm text-muted">
      Have an account? <a class="link" href="/login">Sign in</a>.
    </p>
  </AuthCard>
);

export const RegistrationClosed: FC<{ message: string }> = ({ message }) => (
  <AuthCard title="Registration is closed">
    <p class="text-sm" role="alert" data-registration-closed="">
      {message}
    </p>
    <p class="mt-4 text-sm text-muted">
      Have an account? <a class="link" href="/login">Sign in</a>.
    </p>
  </AuthCard>
);
