/** @jsxImportSource hono/jsx */
// The users page (admins): the table with role / active filters, a role select and deactivate /
// reactivate per user, and the "New user" form (in a dialog, or its own page without JS).
import type { FC } from "hono/jsx";
import { ROLES, type Role } from "../../src/db/schema.ts";
import type { UserJson } from "../../src/features/auth/users.ts";
import { MIN_PASSWORD_LENGTH } from "../../src/features/auth/passwords.ts";
import { ListSection, NoMatch } from "../components/list.tsx";
import { EmptyState, PageHeader, RelTime, FilterActions, FilterSelect } from "../components/ui.tsx";
import { AdminDialog, ErrorsBanner, Field, FormButtons, type FormErrors, type FormValues } from "../components/form.tsx";

export interface UserFilters {
  role?: Role;
  active?: boolean;
  page: number;
  per_page: number;
}

export function usersHref(f: Partial<UserFilters>, page = f.page ?? 1): string {
  const params = new URLSearchParams();
  if (f.role) params.set("role", f.role);
  if (f.active !== undefined) params.set("active", String(f.active));
  if (page > 1) params.set("page", String(page));
  const qs = params.toString();
  return qs ? `/users?${qs}` : "/users";
}

const ROLE_HINT: Record<Role, string> = {
  viewer: "reads everything",
  operator: "also runs, cancels and answers tasks",
  admin: "also manages users, keys, secrets",
};

/**
 * `lastAdmin`: the only active admin — the server refuses to deactivate or demote them, so the row does
 * not offer it (it says why instead).
 */
export const UserRow: FC<{ user: UserJson; self: boolean; lastAdmin?: boolean }> = ({ user: u, self, lastAdmin }) => {
  const rowId = `user-${u.id}`;
  const row = { "hx-target": `#${rowId}`, "hx-swap": "outerHTML" };
  return (
    <tr id={rowId} class={`hover:bg-surface-2${u.is_active ? "" : " opacity-70"}`} data-user-id={u.id} data-active={String(u.is_active)}>
      <td class="td min-w-28">
        <span class="block break-all font-medium">
          {u.username}
          {self ? <span class="ml-1 text-xs font-normal text-muted">(you)</span> : null}
        </span>
        <span class="block break-all text-xs text-muted md:hidden">{[u.full_name, u.email].filter(Boolean).join(" · ")}</span>
        {u.is_active ? null : <span class="badge tone-neutral mt-1 sm:hidden">deactivated</span>}
      </td>
      <td class="td hidden break-words md:table-cell">{u.full_name ?? <span class="text-muted">—</span>}</td>
      <td class="td hidden break-all md:table-cell">{u.email ?? <span class="text-muted">—</span>}</td>
      <td class="td">
        <form method="post" action={`/users/${u.id}/role`} hx-post={`/users/${u.id}/role`} hx-trigger="change" {...row} class="flex items-center gap-1">
          <label class="sr-only" for={`role-${u.id}`}>
            Role of {u.username}
          </label>
          <select
            id={`role-${u.id}`}
            name="role"
            class="field w-auto py-1"
            data-role={u.role}
            disabled={lastAdmin}
            title={lastAdmin ? "The only active admin keeps the admin role: make another admin first" : undefined}
          >
            {ROLES.map((r) => (
              <option value={r} selected={r === u.role}>
                {r}
              </option>
            ))}
          </select>
          <noscript>
            <button type="submit" class="btn btn-sm">
              Save
            </button>
          </noscript>
        </form>
      </td>
      <td class="td hidden whitespace-nowrap sm:table-cell">
        {u.is_active ? <span class="badge tone-ok">active</span> : <span class="badge tone-neutral">deactivated</span>}
      </td>
      <td class="td hidden whitespace-nowrap text-muted sm:table-cell">{u.last_login_at ? <RelTime at={u.last_login_at} /> : "never"}</td>
      <td class="td hidden whitespace-nowrap text-muted lg:table-cell">
        <RelTime at={u.created_at} />
      </td>
      <td class="td text-right">
        {lastAdmin ? (
          <span class="text-xs text-muted" data-last-admin="">
            the only admin
          </span>
        ) : u.is_active ? (
          <form
            method="post"
            action={`/users/${u.id}/deactivate`}
            hx-post={`/users/${u.id}/deactivate`}
            {...row}
            hx-confirm={`Deactivate ${u.username}? They are signed out at once and their tokens and API keys stop working.`}
            data-confirm-title="Deactivate this user?"
            data-confirm-label="Deactivate"
          >
            <button type="submit" class="btn-danger btn-sm">
              Deactivate
            </button>
          </form>
        ) : (
          <form
            method="post"
            action={`/users/${u.id}/reactivate`}
            hx-post={`/users/${u.id}/reactivate`}
            {...row}
            hx-confirm={`Reactivate ${u.username}? They can sign in again with their password.`}
            data-confirm-title="Reactivate this user?"
            data-confirm-label="Reactivate"
          >
            <button type="submit" class="btn btn-sm">
              Reactivate
            </button>
          </form>
        )}
      </td>
    </tr>
  );
};

export interface UserListProps {
  filters: UserFilters;
  items: UserJson[];
  total: number;
  selfId: string;
  /** The only active admin's id, when there is exactly one. */
  lastAdminId?: string | null;
}

const filtered = (f: UserFilters) => Boolean(f.role || f.active !== undefined);

/** The table: part of the page, and the fragment filters, pagination and `users:changed` swap in. */
export const UserList: FC<UserListProps> = ({ filters, items, total, selfId, lastAdminId }) => (
  <ListSection
    id="user-list"
    refresh={{ href: usersHref(filters), trigger: "users:changed from:body" }}
    total={total}
    columns={[
      { label: "User" },
      { label: "Full name", class: "hidden md:table-cell" },
      { label: "Email", class: "hidden md:table-cell" },
      { label: "Role" },
      { label: "Status", class: "hidden sm:table-cell" },
      { label: "Last login", class: "hidden sm:table-cell" },
      { label: "Created", class: "hidden lg:table-cell" },
      { label: "Actions", srOnly: true },
    ]}
    page={{ page: filters.page, perPage: filters.per_page, href: (p) => usersHref(filters, p) }}
    empty={
      items.length > 0 ? null : filtered(filters) ? (
        <NoMatch what="user" clearHref="/users" />
      ) : (
        <EmptyState title="No users yet">
          <a class="link" href="/users/new" data-dialog-open="new-user">
            Create the first user
          </a>
        </EmptyState>
      )
    }
  >
      {items.map((u) => (
        <UserRow user={u} self={u.id === selfId} lastAdmin={u.id === lastAdminId} />
      ))}
  </ListSection>
);

export interface NewUserFormProps {
  values?: FormValues;
  errors?: FormErrors;
  inDialog?: boolean;
}

const USER_FIELDS = ["username", "email", "full_name", "role", "password"];

export const NewUserForm: FC<NewUserFormProps> = ({ values = {}, errors = {}, inDialog }) => (
  <form id="new-user-form" method="post" action="/users" hx-post="/users" hx-target="this" hx-swap="outerHTML" class="flex flex-col gap-4" novalidate>
    {inDialog ? <input type="hidden" name="_dialog" value="1" /> : null}
    <ErrorsBanner errors={errors} fields={USER_FIELDS} />
    <Field
      form="nu"
      name="username"
      label="Username"
      value={values.username}
      error={errors.username}
      required
      autofocus
      autocomplete="off"
      maxlength={64}
      hint="3 to 64 characters: letters, digits, '.', '_' or '-'."
    />
    <div class="grid gap-4 sm:grid-cols-2">
      <Field form="nu" name="full_name" label="Full name" value={values.full_name} error={errors.full_name} maxlength={200} autocomplete="off" />
      <Field form="nu" name="email" label="Email" type="email" value={values.email} error={errors.email} maxlength={254} autocomplete="off" />
    </div>
    <div>
      <label class="label" for="nu-role">
        Role
      </label>
      <select id="nu-role" name="role" class={`field${errors.role ? " field-error" : ""}`}>
        {ROLES.map((r) => (
          <option value={r} selected={r === (values.role ?? "viewer")}>
            {r} — {ROLE_HINT[r]}
          </option>
        ))}
      </select>
      {errors.role ? (
        <p class="error-text" role="alert">
          {errors.role}
        </p>
      ) : null}
    </div>
    <Field
      form="nu"
      name="password"
      label="Initial password"
      type="password"
      error={errors.password}
      required
      autocomplete="new-password"
      hint={`At least ${MIN_PASSWORD_LENGTH} characters, not a common password, not containing the username. A few unrelated words make a good one; the user can change it in their settings.`}
    />
    <FormButtons inDialog={inDialog} cancelHref="/users" submit="Create user" />
  </form>
);

export interface UsersPageProps extends UserListProps {
  newUser: NewUserFormProps;
}

export const UsersPage: FC<UsersPageProps> = ({ newUser, ...list }) => {
  const f = list.filters;
  const common = { "hx-get": "/users", "hx-target": "#user-list", "hx-swap": "outerHTML", "hx-push-url": "true", "hx-indicator": "#user-filters-spinner" };
  return (
    <>
      <PageHeader
        title="Users"
        subtitle="Who can sign in, and what each of them may do."
        actions={
          <a href="/users/new" class="btn-primary" data-dialog-open="new-user">
            + New user
          </a>
        }
      />
      <form class="mb-3 flex flex-wrap items-end gap-2" method="get" action="/users" role="search" {...common} hx-trigger="change, submit">
        <FilterSelect name="role" label="Role" any="Any role" values={ROLES} selected={f.role} class="w-auto" />
        <select name="active" class="field w-auto" aria-label="Status">
          <option value="">Active and deactivated</option>
          <option value="true" selected={f.active === true}>
            Active
          </option>
          <option value="false" selected={f.active === false}>
            Deactivated
          </option>
        </select>
        <FilterActions clearHref={filtered(f) ? "/users" : null} spinnerId="user-filters-spinner" />
      </form>
      <UserList {...list} />
      <AdminDialog id="new-user" title="New user">
        <NewUserForm {...newUser} inDialog />
      </AdminDialog>
    </>
  );
};
