/** @jsxImportSource hono/jsx */
// Pieces the account pages share: the centred card of the signed-out pages, a labelled input with its
// inline error, the form-level error banner and the password rules.
import type { Child, FC } from "hono/jsx";
import { FieldError } from "../components/ui.tsx";

/** Field name → the message shown under it; `_form` is a message for the whole form. */
export type FieldErrors = Record<string, string>;

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

export interface InputProps {
  name: string;
  label: string;
  type?: "text" | "email" | "password";
  value?: string | null;
  error?: string;
  hint?: Child;
  required?: boolean;
  autocomplete?: string;
  autofocus?: boolean;
  maxlength?: number;
  /** The id prefix, when one page has two forms with a field of the same name. */
  form?: string;
}

export const Input: FC<InputProps> = ({ name, label, type = "text", value, error, hint, required, autocomplete, autofocus, maxlength, form }) => {
  const id = `${form ? `${form}-` : ""}f-${name}`;
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div>
      <label class="label" for={id}>
        {label}
        {required ? <span class="text-err"> *</span> : null}
      </label>
      <input
        id={id}
        name={name}
        type={type}
        class={`field${error ? " field-error" : ""}`}
        value={type === "password" ? undefined : (value ?? "")}
        required={required}
        autocomplete={autocomplete}
        autofocus={autofocus}
        maxlength={maxlength}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={described}
      />
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      <FieldError error={error} id={`${id}-error`} />
    </div>
  );
};

/** The rules the server checks (src/features/auth/passwords.ts), said before the user types. */
export const PASSWORD_RULES = "At least 12 characters and not a common password; a few unrelated words make a good one.";

