/** @jsxImportSource hono/jsx */
// Pieces the account pages share: the centred card of the signed-out pages, the form-level error banner
// and the password rules (fields are views/components/form.tsx's Field).
import type { Child, FC } from "hono/jsx";


export const AuthCard: FC<{ title: string; subtitle?: Child; children?: Child }> = ({ title, subtitle, children }) => (
  <div class="mx-auto w-full max-w-md py-4 sm:py-10">
    <div class="card p-5 sm:p-6">
      <h1 class="text-xl font-semibold sm:text-2xl">{title}</h1>
      {subtitle ? <div class="mt-1 text-sm text-muted">{subtitle}</div> : null}
      <div class="mt-5">{children}</div>
    </div>
  </div>
);

export const FormError: FC<{ message?: string }> = ({ message }) =>
  message ? (
    <div class="rounded-md tone-err px-3 py-2 text-sm" role="alert" data-form-error="">
      {message}
    </div>
  ) : null;

/** The rules the server checks (src/features/auth/passwords.ts passwordProblems), said before the user types. */
export const PASSWORD_RULES =
  "At least 12 characters, at least 5 of them different; not one of the 1,000 most common passwords (nor one with digits or symbols added), and not containing your username. A few unrelated words make a good one.";

