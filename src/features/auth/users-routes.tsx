/** @jsxImportSource hono/jsx */
// /users (admins): the users table with filters, the "New user" form, and per user a role change and
// deactivate / reactivate. Every change goes through the users service (validation, audit, the
// last-admin guard); a refusal comes back as a toast with the row as it still is.
import { Hono, type Context } from "hono";
import { ROLES, type Role } from "../../db/schema.ts";
import { AppError, zodDetails } from "../../errors.ts";
import { actionDone, fragment, htmxTarget, isHtmx, page, toast, trigger } from "../../pages/render.tsx";
import { NewUserForm, UserList, UserRow, UsersPage, type NewUserFormProps, type UserFilters } from "../../../views/auth/users.tsx";
import { errorsOf, FormPage, type FormValues } from "../../../views/components/form.tsx";
import { actorOf } from "../audit/service.ts";
import type { AuthDeps } from "./auth-services.ts";
import { principalOf } from "./middleware.ts";
import { passwordProblems } from "./passwords.ts";
import { clientMeta } from "./request.ts";
import { CreateUserBody } from "./schemas.ts";
import { createUser, getUser, listUsers, updateUser, type AdminUserPatch } from "./users.ts";

type Ctx = Context;

/** The id of the only active admin, when there is exactly one (the server keeps that one an active admin). */
function lastAdminId(auth: AuthDeps): string | null {
  const admins = auth.db.sqlite.query<{ id: string }, []>("SELECT id FROM users WHERE role = 'admin' AND is_active = 1 LIMIT 2").all();
  return admins.length === 1 ? admins[0]!.id : null;
}

const PER_PAGE = 50;

/** Filters from the query string, leniently: a value that is not valid is ignored. */
function filtersOf(c: Ctx): UserFilters {
  const q = c.req.query();
  const n = Number(q.page);
  return {
    role: (ROLES as readonly string[]).includes(q.role ?? "") ? (q.role as Role) : undefined,
    active: q.active === "true" ? true : q.active === "false" ? false : undefined,
    page: Number.isInteger(n) && n >= 1 ? Math.min(n, 1_000_000) : 1,
    per_page: PER_PAGE,
  };
}

async function formValues(c: Ctx): Promise<FormValues> {
  const values: FormValues = {};
  for (const [k, v] of Object.entries(await c.req.parseBody())) if (typeof v === "string") values[k] = v;
  return values;
}

/** A form that did not validate: the form again with what was typed (never the password), errors inline. */
function formAgain(c: Ctx, props: NewUserFormProps) {
  const { password: _, ...values } = props.values ?? {};
  const again = { ...props, values };
  if (isHtmx(c)) return fragment(c, <NewUserForm {...again} />, 422);
  return page(c, { title: "New user", active: "users", status: 422 }, <NewUserPage {...again} />);
}

const NewUserPage = (props: NewUserFormProps) => (
  <FormPage title="New user">
    <NewUserForm {...props} />
  </FormPage>
);

/** The row again after a change, or the row as it is with the service's refusal as an error toast. */
function changeUser(c: Ctx, id: string, patch: AdminUserPatch, done: (username: string) => string) {
  const { auth, principal } = c.var;
  const selfId = principalOf(c).userId;
  try {
    const user = updateUser(auth, id, patch, actorOf(principal), clientMeta(c).ip);
    // A change can make another row the last admin's: the list refreshes itself (users:changed).
    trigger(c, "users:changed");
    return actionDone(c, { message: done(user.username), redirect: "/users", body: <UserRow user={user} self={user.id === selfId} lastAdmin={user.id === lastAdminId(auth)} /> });
  } catch (err) {
    if (!(err instanceof AppError) || err.status !== 409) throw err;
    const user = getUser(auth, id);
    if (!isHtmx(c)) return actionDone(c, { message: err.message, redirect: "/users", level: "error" });
    // 422 is swapped (htmx config): the row comes back as it is, so the role select shows the real role.
    toast(c, "error", err.message);
    return fragment(c, <UserRow user={user} self={user.id === selfId} lastAdmin={user.id === lastAdminId(auth)} />, 422);
  }
}

export const userRoutes = new Hono()
  .get("/", (c) => {
    const filters = filtersOf(c);
    const result = listUsers(c.get("auth"), filters);
    const list = { filters, items: result.items, total: result.total, selfId: principalOf(c).userId, lastAdminId: lastAdminId(c.get("auth")) };
    if (htmxTarget(c) === "user-list") return fragment(c, <UserList {...list} />);
    return page(c, { title: "Users", active: "users" }, <UsersPage {...list} newUser={{}} />);
  })
  .get("/new", (c) => page(c, { title: "New user", active: "users" }, <NewUserPage />))
  .post("/", async (c) => {
    const values = await formValues(c);
    const inDialog = values._dialog === "1";
    const candidate = {
      username: values.username ?? "",
      password: values.password ?? "",
      role: values.role ?? "",
      email: values.email?.trim() ? values.email.trim() : null,
      full_name: values.full_name?.trim() ? values.full_name.trim() : null,
    };
    const parsed = CreateUserBody.safeParse(candidate);
    if (!parsed.success) {
      // The password's rules too, so every problem shows at once (the service would name them next).
      const details = [...zodDetails(parsed.error), ...passwordProblems(candidate.password, { username: candidate.username })];
      return formAgain(c, { values, errors: errorsOf(details), inDialog });
    }
    try {
      const user = await createUser(c.get("auth"), parsed.data, actorOf(c.get("principal")), clientMeta(c).ip);
      trigger(c, "dialog:close", "new-user");
      trigger(c, "users:changed");
      return actionDone(c, { message: `User “${user.username}” created`, redirect: "/users", body: <NewUserForm inDialog={inDialog} /> });
    } catch (err) {
      if (!(err instanceof AppError) || (err.status !== 400 && err.status !== 409)) throw err;
      return formAgain(c, { values, errors: errorsOf(err.details, err.message), inDialog });
    }
  })
  .post("/:id/role", async (c) => {
    const role = (await formValues(c)).role;
    if (!(ROLES as readonly string[]).includes(role ?? "")) throw new AppError(400, "validation_failed", `Unknown role '${role ?? ""}'`);
    return changeUser(c, c.req.param("id"), { role: role as Role }, (name) => `${name} is now ${/^[aeiou]/.test(role!) ? "an" : "a"} ${role}`);
  })
  .post("/:id/deactivate", (c) => changeUser(c, c.req.param("id"), { is_active: false }, (name) => `${name} deactivated: their sessions have ended`))
  .post("/:id/reactivate", (c) => changeUser(c, c.req.param("id"), { is_active: true }, (name) => `${name} reactivated`));
