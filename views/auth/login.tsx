/** @jsxImportSource hono/jsx */
// The sign-in page: username or email and password; after a failure the same form with the server's
// message (which never says whether the account exists) and the name kept.
import { Field, type FormErrors } from "../components/form.tsx";
import type { FC } from "hono/jsx";
import { AuthCard, FormError } from "./parts.tsx";

export interface LoginPageProps {
  /** Where to go after signing in (already checked to be a path on this server). */
  next: string;
  username?: string;
  errors?: FormErrors;
  /** Offer the registration page: registration is open, or no account exists yet. */
  canRegister: boolean;
  /** No account exists yet: the first one to register becomes the admin. */
  firstUser: boolean;
}

export const LoginPage: FC<LoginPageProps> = ({ next, username, errors = {}, canRegister, firstUser }) => (
  <AuthCard title="Sign in" subtitle="to AgentVine">
    {firstUser ? (
      <div class="mb-4 rounded-md tone-info px-3 py-2 text-sm" role="status">
        No account exists yet. <a class="link font-medium" href="/register">Create the first one</a>: it becomes the admin.
      </div>
    ) : null}
    <form method="post" action="/login" class="flex flex-col gap-4" id="login-form">
      <FormError message={errors._form} />
      {next !== "/" ? <input type="hidden" name="next" value={next} /> : null}
      <Field name="username" label="Username or email" value={username} error={errors.username} autocomplete="username" required autofocus={!username} maxlength={254} />
      <Field name="password" label="Password" type="password" error={errors.password} autocomplete="current-password" required autofocus={Boolean(username)} />
      <button type="submit" class="btn-primary w-full py-2">
        Sign in
      </button>
    </form>
    <p class="mt-4 text-sm text-muted">
      {canRegister ? (
        <>
          No account? <a class="link" href="/register">Register</a>.{" "}
        </>
      ) : null}
      Forgot your password?{" "}
      <a class="link" href="/forgot-password" data-forgot="">
        Get a reset link by email
      </a>{" "}
      (or ask an admin for one).
    </p>
  </AuthCard>
);
