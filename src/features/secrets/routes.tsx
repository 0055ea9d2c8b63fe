/** @jsxImportSource hono/jsx */
// /secrets (admins): the secret names with when and by whom each was last set (from the audit log),
// create, replace a value, delete — all through the SecretStore. No answer ever contains a value.
import { Hono, type Context } from "hono";
import { AppError, zodDetails } from "../../errors.ts";
import { actionDone, fragment, htmxTarget, isHtmx, page, trigger } from "../../pages/render.tsx";
import { errorsOf, FormPage, type FormValues } from "../../../views/components/form.tsx";
import { NewSecretForm, ReplaceForm, SecretList, SecretsPage, type NewSecretFormProps, type SecretRowData } from "../../../views/secrets/secrets.tsx";
import { actorLabels } from "../audit/actor-labels.ts";
import { actorOf, listAudit } from "../audit/service.ts";
import { clientMeta } from "../auth/request.ts";
import { CreateSecretBody, UpdateSecretBody } from "./api.ts";
import { MIN_SECRET_LENGTH } from "./store.ts";
import type { SecretAllow } from "./allow-list.ts";
import { AllowForm } from "../../../views/secrets/allow.tsx";

type Ctx = Context;

function secretRows(c: Ctx): SecretRowData[] {
  const { auth, secrets } = c.var;
  return secrets.list().map((s) => {
    // The store keeps no author: the newest audit entry of the secret names who set it.
    const last = listAudit(auth, { resource: `secret:${s.name}`, page: 1, per_page: 1 }).items[0];
    return { ...s, by: last ? actorLabels(auth, [last])(last).label : null };
  });
}

async function formValues(c: Ctx): Promise<FormValues & { allow_roles?: string[] }> {
  const values: FormValues & { allow_roles?: string[] } = {};
  for (const [k, v] of Object.entries(await c.req.parseBody({ all: true }))) {
    if (k === "allow_roles") values.allow_roles = [v].flat().filter((x): x is string => typeof x === "string");
    else if (typeof v === "string") values[k] = v;
  }
  return values;
}

/** The allow-list fields of a form as the API's shape (the schema then checks it like a JSON request's). */
function allowFromForm(values: FormValues & { allow_roles?: string[] }) {
  const list = (text: string | undefined) => {
    const items = (text ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    return items.length ? items : null;
  };
  return { roles: values.allow_roles ?? [], task_types: list(values.allow_task_types), hosts: list(values.allow_hosts), remote_workers: values.allow_remote === "1" };
}

const NewSecretPage = (props: NewSecretFormProps) => (
  <FormPage title="New secret">
    <NewSecretForm {...props} />
  </FormPage>
);

/** The form again with the name kept and the value cleared (it is never sent back), errors inline. */
function formAgain(c: Ctx, values: FormValues & { allow_roles?: string[] }, errors: Record<string, string>, inDialog: boolean) {
  const allow = allowFromForm(values);
  const props = { values: { name: values.name ?? "" }, allow: { ...allow, roles: allow.roles as SecretAllow["roles"] }, errors, inDialog };
  if (isHtmx(c)) return fragment(c, <NewSecretForm {...props} />, 422);
  return page(c, { title: "New secret", active: "secrets", status: 422 }, <NewSecretPage {...props} />);
}

export const secretRoutes = new Hono()
  .get("/", (c) => {
    const items = secretRows(c);
    if (htmxTarget(c) === "secret-list") return fragment(c, <SecretList items={items} />);
    return page(c, { title: "Secrets", active: "secrets" }, <SecretsPage items={items} />);
  })
  .get("/new", (c) => page(c, { title: "New secret", active: "secrets" }, <NewSecretPage />))
  .post("/", async (c) => {
    const values = await formValues(c);
    const inDialog = values._dialog === "1";
    const name = (values.name ?? "").trim();
    const parsed = CreateSecretBody.safeParse({ name, value: values.value ?? "", allow: allowFromForm(values) });
    if (!parsed.success) {
      // The store checks the value's length only once the name is good: name both problems at once.
      const short = (values.value ?? "").length < MIN_SECRET_LENGTH ? [{ field: "value", message: `at least ${MIN_SECRET_LENGTH} characters` }] : [];
      const details = zodDetails(parsed.error).map((d) => ({ ...d, field: d.field?.replace(/^allow\.(\w+).*$/, "$1") }));
      return formAgain(c, values, errorsOf([...details, ...short]), inDialog);
    }
    try {
      c.get("secrets").create(parsed.data.name, parsed.data.value, actorOf(c.get("principal")), clientMeta(c).ip, parsed.data.allow);
    } catch (err) {
      if (!(err instanceof AppError) || (err.status !== 400 && err.status !== 409)) throw err;
      const errors = err.status === 409 ? { name: `a secret named ${name} exists: use “Replace value” on its row` } : errorsOf(err.details, err.message);
      return formAgain(c, values, errors, inDialog);
    }
    trigger(c, "dialog:close", "new-secret");
    trigger(c, "secrets:changed");
    return actionDone(c, { message: `Secret ${name} stored`, redirect: "/secrets", body: <NewSecretForm inDialog={inDialog} /> });
  })
  .post("/:name/value", async (c) => {
    const name = c.req.param("name");
    const parsed = UpdateSecretBody.safeParse({ value: (await formValues(c)).value ?? "" });
    const again = (error: string) => {
      if (isHtmx(c)) return fragment(c, <ReplaceForm name={name} error={error} open />, 422);
      return actionDone(c, { message: `${name}: ${error}`, redirect: "/secrets", level: "error" });
    };
    if (!parsed.success) return again(errorsOf(zodDetails(parsed.error)).value ?? "not a valid value");
    try {
      c.get("secrets").update(name, { value: parsed.data.value }, actorOf(c.get("principal")), clientMeta(c).ip);
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 400) throw err;
      return again(errorsOf(err.details, err.message).value ?? err.message);
    }
    trigger(c, "secrets:changed");
    return actionDone(c, { message: `Secret ${name} replaced`, redirect: "/secrets", body: <ReplaceForm name={name} /> });
  })
  .post("/:name/allow", async (c) => {
    const name = c.req.param("name");
    const current = c.get("secrets").allowOf(name);
    if (!current) throw new AppError(404, "not_found", `secret '${name}' not found`);
    const raw = allowFromForm(await formValues(c));
    const parsed = UpdateSecretBody.safeParse({ allow: raw });
    if (!parsed.success) {
      const errors = errorsOf(zodDetails(parsed.error).map((d) => ({ ...d, field: d.field?.replace(/^allow\.(\w+).*$/, "$1") })));
      const shown = { ...raw, roles: raw.roles as SecretAllow["roles"] };
      if (isHtmx(c)) return fragment(c, <AllowForm name={name} allow={shown} errors={errors} open />, 422);
      return actionDone(c, { message: `${name}: ${Object.values(errors)[0] ?? "invalid allow-list"}`, redirect: "/secrets", level: "error" });
    }
    const saved = c.get("secrets").update(name, { allow: parsed.data.allow }, actorOf(c.get("principal")), clientMeta(c).ip);
    trigger(c, "secrets:changed");
    return actionDone(c, { message: `Allow-list of ${name} saved`, redirect: "/secrets", body: <AllowForm name={name} allow={saved.allow} /> });
  })
  .post("/:name/delete", (c) => {
    const name = c.req.param("name");
    c.get("secrets").delete(name, actorOf(c.get("principal")), clientMeta(c).ip);
    trigger(c, "secrets:changed");
    return actionDone(c, { message: `Secret ${name} deleted`, redirect: "/secrets", body: null });
  });
