/** @jsxImportSource hono/jsx */
// Form pieces every page shares: a labelled field with its inline error, the errors banner, the buttons,
// a dialog shell and the page a dialog's form lives on without JS, and a service's error details turned
// into errors by field.
import type { Child, FC } from "hono/jsx";
import type { ErrorDetail } from "../../src/errors.ts";
import { FieldError } from "./ui.tsx";

export type FormValues = Record<string, string>;
export type FormErrors = Record<string, string>;

/** Errors by top-level field; several problems with one field (a password's rules) are joined. */
export function errorsOf(details: ErrorDetail[], fallback?: string): FormErrors {
  const errors: FormErrors = {};
  for (const d of details) {
    const key = d.field?.split(".")[0] || "_form";
    errors[key] = errors[key] ? `${errors[key]}; ${d.message}` : d.message;
  }
  if (Object.keys(errors).length === 0 && fallback) errors._form = fallback;
  return errors;
}

/** "Please fix the fields marked below", plus any error that belongs to no field of the form. */
export const ErrorsBanner: FC<{ errors: FormErrors; fields: string[] }> = ({ errors, fields }) => {
  if (Object.keys(errors).length === 0) return null;
  const other = Object.entries(errors).filter(([k]) => !fields.includes(k));
  return (
    <div class="rounded-md tone-err px-3 py-2 text-sm" role="alert">
      {other.length === Object.keys(errors).length ? null : "Please fix the fields marked below."}
      {other.length > 0 ? (
        <ul class={other.length === Object.keys(errors).length ? "" : "mt-1 list-disc pl-5"}>
          {other.map(([k, m]) => (
            <li>{k === "_form" ? m : `${k}: ${m}`}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
};

export interface FieldProps {
  name: string;
  label: string;
  /** The id prefix, so two forms on one page do not share element ids (`<form>-<name>`; `f-<name>` without). */
  form?: string;
  value?: string | null;
  error?: string;
  hint?: Child;
  type?: string;
  required?: boolean;
  autocomplete?: string;
  maxlength?: number;
  placeholder?: string;
  autofocus?: boolean;
  mono?: boolean;
}

/** A labelled input; its hint and error below it, tied to it for screen readers. */
export const Field: FC<FieldProps> = ({ form, name, label, value, error, hint, type = "text", required, autocomplete, maxlength, placeholder, autofocus, mono }) => {
  const id = form ? `${form}-${name}` : `f-${name}`;
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
        class={`field${mono ? " font-mono" : ""}${error ? " field-error" : ""}`}
        value={type === "password" ? undefined : (value ?? "")}
        required={required}
        autocomplete={autocomplete}
        maxlength={maxlength}
        placeholder={placeholder}
        autofocus={autofocus}
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

/** Cancel (closes the dialog, or goes back to `cancelHref` without one) and the submit button. */
export const FormButtons: FC<{ inDialog?: boolean; cancelHref: string; submit: string }> = ({ inDialog, cancelHref, submit }) => (
  <div class="flex justify-end gap-2 border-t border-line pt-4">
    {inDialog ? (
      <button type="button" class="btn" data-dialog-close="">
        Cancel
      </button>
    ) : (
      <a class="btn" href={cancelHref}>
        Cancel
      </a>
    )}
    <button type="submit" class="btn-primary">
      <span class="spinner htmx-indicator" aria-hidden="true" />
      {submit}
    </button>
  </div>
);

/** A modal opened by any `[data-dialog-open="<id>"]` (which is a plain link to a page without JS). */
export const AdminDialog: FC<{ id: string; title: string; children?: Child }> = ({ id, title, children }) => (
  <dialog id={id} class="card m-auto max-h-[90vh] w-[calc(100%-1.5rem)] max-w-lg overflow-y-auto p-0 shadow-xl" aria-labelledby={`${id}-title`}>
    <div class="flex items-center justify-between border-b border-line px-5 py-3">
      <h2 id={`${id}-title`} class="text-lg font-semibold">
        {title}
      </h2>
      <button type="button" class="btn-ghost btn-sm" data-dialog-close="" aria-label="Close">
        ✕
      </button>
    </div>
    <div class="p-5">{children}</div>
  </dialog>
);

/** The page a dialog's form lives on without JS (and after a failed plain post). */
export const FormPage: FC<{ title: string; children?: Child }> = ({ title, children }) => (
  <div class="mx-auto max-w-lg">
    <h1 class="mb-4 text-xl font-semibold sm:text-2xl">{title}</h1>
    <div class="card p-4 sm:p-5">{children}</div>
  </div>
);

/** A table that scrolls sideways on a narrow screen instead of overflowing the page. */
export const TableScroll: FC<{ children?: Child }> = ({ children }) => <div class="relative overflow-x-auto">{children}</div>;
