/** @jsxImportSource hono/jsx */
// /api-keys (admins): the keys with owner and last use, "New key" (the key is shown once, in the
// answer to the create, and never again), and revoke. The api-keys service does the work and the audit.
import { Hono, type Context } from "hono";
import { AppError, zodDetails } from "../../errors.ts";
import { actionDone, fragment, htmxTarget, isHtmx, page, toast, trigger } from "../../pages/render.tsx";
import { KeyCreated, KeyList, KeysPage, NewKeyForm, type KeyFilters, type KeyRowData, type NewKeyFormProps } from "../../../views/auth/api-keys.tsx";
import { errorsOf, FormPage, type FormValues } from "../../../views/components/form.tsx";
import { actorOf } from "../audit/service.ts";
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyJson } from "./api-keys.ts";
import type { AuthDeps } from "./auth-services.ts";
import { principalOf } from "./middleware.ts";
import { clientMeta } from "./request.ts";
import { CreateApiKeyBody } from "./schemas.ts";
import { getUserRecord } from "./users.ts";

type Ctx = Context;

const PER_PAGE = 50;

function filtersOf(c: Ctx): KeyFilters {
  const n = Number(c.req.query("page"));
  return { active: c.req.query("status") === "active", page: Number.isInteger(n) && n >= 1 ? Math.min(n, 1_000_000) : 1, per_page: PER_PAGE };
}

function keyList(auth: AuthDeps, filters: KeyFilters) {
  const result = listApiKeys(auth, { page: filters.page, per_page: filters.per_page, include_revoked: !filters.active });
  const owners = new Map<string, string | null>();
  for (const k of result.items) if (!owners.has(k.user_id)) owners.set(k.user_id, getUserRecord(auth, k.user_id)?.username ?? null);
  const items: KeyRowData[] = result.items.map((k) => ({ ...k, owner: owners.get(k.user_id) ?? null }));
  return { filters, items, total: result.total };
}

/** One key by id, through the list (keys are few; the service has no single-key read). */
function findKey(auth: AuthDeps, id: string): ApiKeyJson | null {
  for (let page = 1; ; page++) {
    const { items, total } = listApiKeys(auth, { page, per_page: 100, include_revoked: true });
    const hit = items.find((k) => k.id === id);
    if (hit) return hit;
    if (page * 100 >= total) return null;
  }
}

async function formValues(c: Ctx): Promise<FormValues> {
  const values: FormValues = {};
  for (const [k, v] of Object.entries(await c.req.parseBody())) if (typeof v === "string") values[k] = v;
  return values;
}

/** A worker key's grants from the form; nothing for an api key (its form leaves the fields as they are). */
function grantsFromForm(values: FormValues) {
  if (values.scope !== "worker") return {};
  const capabilities = (values.capabilities ?? "").split(",").map((c) => c.trim()).filter(Boolean);
  const max = (values.max_concurrent_tasks ?? "").trim();
  return { capabilities, ...(max ? { max_concurrent_tasks: /^\d+$/.test(max) ? Number(max) : max } : {}) };
}

const NewKeyPage = (props: NewKeyFormProps) => (
  <FormPage title="New API key">
    <NewKeyForm {...props} />
  </FormPage>
);

export const apiKeyRoutes = new Hono()
  .get("/", (c) => {
    const list = keyList(c.get("auth"), filtersOf(c));
    if (htmxTarget(c) === "key-list") return fragment(c, <KeyList {...list} />);
    return page(c, { title: "API keys", active: "api-keys" }, <KeysPage {...list} />);
  })
  .get("/new", (c) => page(c, { title: "New API key", active: "api-keys" }, <NewKeyPage />))
  .post("/", async (c) => {
    const values = await formValues(c);
    const inDialog = values._dialog === "1";
    const parsed = CreateApiKeyBody.safeParse({ name: values.name ?? "", scope: values.scope ?? "", ...grantsFromForm(values) });
    if (!parsed.success) {
      const props = { values, errors: errorsOf(zodDetails(parsed.error)), inDialog };
      if (isHtmx(c)) return fragment(c, <NewKeyForm {...props} />, 422);
      return page(c, { title: "New API key", active: "api-keys", status: 422 }, <NewKeyPage {...props} />);
    }
    const principal = principalOf(c);
    const key = createApiKey(c.get("auth"), parsed.data, { userId: principal.userId, actor: actorOf(principal) }, clientMeta(c).ip);
    const message = `API key “${key.name}” created: copy it now, it is not shown again`;
    // The answer holds the key: no redirect (it would be lost), and never stored by a cache.
    if (isHtmx(c)) {
      toast(c, "success", message);
      trigger(c, "api-keys:changed");
      return fragment(c, <KeyCreated k={key} />, 201);
    }
    return page(c, { title: "API keys", active: "api-keys", status: 201 }, <KeysPage {...keyList(c.get("auth"), filtersOf(c))} created={key} />);
  })
  .post("/:id/revoke", (c) => {
    const id = c.req.param("id");
    const before = findKey(c.get("auth"), id);
    if (!before) throw new AppError(404, "not_found", `API key '${id}' not found`);
    trigger(c, "api-keys:changed");
    if (before.revoked_at) return actionDone(c, { message: `API key “${before.name}” was already revoked`, redirect: "/api-keys", level: "info", body: null });
    revokeApiKey(c.get("auth"), id, actorOf(c.get("principal")), clientMeta(c).ip);
    return actionDone(c, { message: `API key “${before.name}” revoked`, redirect: "/api-keys", body: null });
  });
