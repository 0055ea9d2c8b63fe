/** @jsxImportSource hono/jsx */
// /policies: the routing rules (everyone reads; admins add, edit, reorder, enable/disable and delete —
// each change audited by the policies service) and the dry run (everyone). The rule form opens in a
// dialog (htmx loads it and HX-Trigger `dialog:open` shows it) or on a page of its own without JS.
import { Hono, type Context } from "hono";
import { AppError } from "../../errors.ts";
import { actionDone, fragment, htmxTarget, isHtmx, page, trigger } from "../../pages/render.tsx";
import { TASK_TYPES } from "../../task-types/index.ts";
import { FormPage } from "../../../views/components/form.tsx";
import { DryRunResultView, PoliciesPage, PolicyList } from "../../../views/controller/policies.tsx";
import { PolicyForm, type PolicyFormProps } from "../../../views/controller/policy-form.tsx";
import { hasRole } from "../auth/middleware.ts";
import { actingOf } from "../auth/request.ts";
import { createPolicy, deletePolicy, getPolicy, listPolicies, reorderPolicies, updatePolicy, type Policy, type PolicyInput } from "./policies.ts";
import { errorsByField, explainDecision, formValuesOf, parseDryRunForm, parsePolicyForm, policyValues, type ParsedPolicyForm } from "./policy-form.ts";

type Ctx = Context;

const canEdit = (c: Ctx) => hasRole(c.get("principal"), "admin");
const list = (c: Ctx) => <PolicyList items={listPolicies(c.get("deps"))} canEdit={canEdit(c)} />;

/** The form in the dialog (with the dialog's title, out of band) and the trigger that opens it; a page without JS. */
function showForm(c: Ctx, props: PolicyFormProps, title: string, status: 200 | 422 = 200) {
  if (isHtmx(c)) {
    if (status === 200) trigger(c, "dialog:open", "policy-dialog");
    return fragment(
      c,
      <>
        <PolicyForm {...props} inDialog />
        {status === 200 ? (
          <h2 id="policy-dialog-title" class="text-lg font-semibold" hx-swap-oob="true">
            {title}
          </h2>
        ) : null}
      </>,
      status,
    );
  }
  return page(
    c,
    { title, active: "policies", status },
    <FormPage title={title}>
      <PolicyForm {...props} />
    </FormPage>,
  );
}

/** A rule that did not save: the form again, values kept, each error by its field (422). */
function formAgain(c: Ctx, form: ParsedPolicyForm, policy?: Policy) {
  const props = { policyId: policy?.id, isDefault: policy?.is_default, values: form.values, errors: form.errors, inDialog: form.values._dialog === "1" };
  if (isHtmx(c)) return fragment(c, <PolicyForm {...props} />, 422);
  return showForm(c, props, policy ? `Edit “${policy.name}”` : "New rule", 422);
}

/** The rule as it is, with one change (enable/disable from the list keeps everything else). */
const inputOf = (p: Policy, change: Partial<PolicyInput> = {}): PolicyInput => ({
  name: p.name,
  position: p.position,
  enabled: p.enabled,
  match: p.match,
  action: p.action,
  timeout_seconds: p.timeout_seconds,
  on_timeout: p.on_timeout,
  on_timeout_answer: p.on_timeout_answer,
  ...change,
});

function saved(c: Ctx, message: string) {
  trigger(c, "dialog:close", "policy-dialog");
  trigger(c, "policies:changed");
  return actionDone(c, { message, redirect: "/policies", body: null });
}

/** Saves a posted rule (new, or `policy` replaced); a 400/409 from the service comes back inline. */
async function save(c: Ctx, policy?: Policy) {
  const form = parsePolicyForm(formValuesOf(await c.req.parseBody({ all: true })), policy?.is_default);
  if (!form.body) return formAgain(c, form, policy);
  try {
    const acting = actingOf(c);
    const result = policy ? updatePolicy(c.get("deps"), policy.id, { ...form.body, position: policy.position }, acting) : createPolicy(c.get("deps"), form.body, acting);
    return saved(c, policy ? `Rule “${result.name}” saved (version ${result.version})` : `Rule “${result.name}” added, tried before the default`);
  } catch (err) {
    if (!(err instanceof AppError) || (err.status !== 400 && err.status !== 409)) throw err;
    return formAgain(c, { ...form, errors: errorsByField(err.details, err.message) }, policy);
  }
}

export const policyRoutes = new Hono()
  .get("/", (c) => {
    if (htmxTarget(c) === "policy-list") return fragment(c, list(c));
    return page(
      c,
      { title: "Policies", active: "policies" },
      <PoliciesPage items={listPolicies(c.get("deps"))} canEdit={canEdit(c)} taskTypes={[...TASK_TYPES.keys()].filter((t) => t !== "plan")} />,
    );
  })
  .get("/new", (c) => showForm(c, { values: { action: "human", on_timeout: "fail_task", enabled: "true" } }, "New rule"))
  .post("/", (c) => save(c))
  .post("/dry-run", async (c) => {
    const form = parseDryRunForm(formValuesOf(await c.req.parseBody()));
    const result = form.facts ? explainDecision(c.get("controller").dryRun(form.facts), form.facts) : undefined;
    if (!isHtmx(c)) {
      // Without JS: the page with the result under the form.
      return page(
        c,
        { title: "Policies", active: "policies", status: form.facts ? 200 : 422 },
        <>
          <PoliciesPage items={listPolicies(c.get("deps"))} canEdit={canEdit(c)} taskTypes={[...TASK_TYPES.keys()].filter((t) => t !== "plan")} />
          <div class="card mt-4 p-4">
            <DryRunResultView result={result} errors={form.errors} />
          </div>
        </>,
      );
    }
    return fragment(c, <DryRunResultView result={result} errors={form.errors} />, form.facts ? 200 : 422);
  })
  .get("/:id/edit", (c) => {
    const policy = getPolicy(c.get("deps"), c.req.param("id"));
    return showForm(c, { policyId: policy.id, isDefault: policy.is_default, values: policyValues(policy) }, `Edit “${policy.name}”`);
  })
  .post("/:id", (c) => save(c, getPolicy(c.get("deps"), c.req.param("id"))))
  .post("/:id/enabled", async (c) => {
    const policy = getPolicy(c.get("deps"), c.req.param("id"));
    const enabled = (await c.req.parseBody()).enabled === "true";
    updatePolicy(c.get("deps"), policy.id, inputOf(policy, { enabled }), actingOf(c));
    return actionDone(c, { message: `Rule “${policy.name}” ${enabled ? "enabled" : "disabled: questions skip it"}`, redirect: "/policies", body: list(c) });
  })
  .post("/:id/move", async (c) => {
    const policy = getPolicy(c.get("deps"), c.req.param("id"));
    const up = (await c.req.parseBody()).direction === "up";
    const order = listPolicies(c.get("deps"))
      .filter((p) => !p.is_default)
      .map((p) => p.id);
    const at = order.indexOf(policy.id);
    const to = up ? at - 1 : at + 1;
    if (at < 0 || to < 0 || to >= order.length) {
      return actionDone(c, { message: `Rule “${policy.name}” is already ${up ? "first" : "last"}`, redirect: "/policies", body: list(c), level: "info" });
    }
    [order[at], order[to]] = [order[to]!, order[at]!];
    reorderPolicies(c.get("deps"), order, actingOf(c));
    return actionDone(c, { message: `Rule “${policy.name}” moved ${up ? "up" : "down"}: now tried ${to + 1}${["st", "nd", "rd"][to] ?? "th"}`, redirect: "/policies", body: list(c) });
  })
  .post("/:id/delete", (c) => {
    const policy = getPolicy(c.get("deps"), c.req.param("id"));
    deletePolicy(c.get("deps"), policy.id, actingOf(c));
    return actionDone(c, { message: `Rule “${policy.name}” deleted`, redirect: "/policies", body: list(c) });
  });
