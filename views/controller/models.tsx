/** @jsxImportSource hono/jsx */
// Settings → Models (admins): the model questions are sent to (provider, base URL, model, limits,
// prices; the API key write-only), where each value comes from, a "Test the model" button, the budgets,
// and the webhook that announces questions waiting for a person. Each section saves on its own and
// comes back in place with its errors inline or a toast. The cost view is in ./costs.tsx.
import type { Child, FC } from "hono/jsx";
import { LLM_PROVIDERS } from "../../src/llm/settings.ts";
import type { FormErrors, FormValues, ModelsPageData, ModelReadiness, SecretState, SourcedValue } from "../../src/features/controller/model-form.ts";
import type { ModelTestResult } from "../../src/features/controller/model-test.ts";
import { FieldError, duration } from "../components/ui.tsx";

const Section: FC<{ id: string; title: string; description?: Child; children?: Child }> = ({ id, title, description, children }) => (
  <section id={id} class="card min-w-0 scroll-mt-20 p-4 sm:p-5" aria-labelledby={`${id}-title`}>
    <h2 id={`${id}-title`} class="text-lg font-semibold">
      {title}
    </h2>
    {description ? <p class="mt-1 text-sm text-muted">{description}</p> : null}
    <div class="mt-4 flex flex-col gap-4">{children}</div>
  </section>
);

/** Where a value comes from, under its field. */
export const SourceHint: FC<{ v: SourcedValue; unit?: string }> = ({ v, unit }) =>
  v.source === "saved" ? (
    <span data-source="saved">
      <span class="badge tone-ok">saved here</span>
      {v.configured ? ` · the configuration says ${v.configured}${unit ?? ""} (${v.env})` : ""}
    </span>
  ) : v.source === "configuration" ? (
    <span data-source="configuration">
      <span class="badge tone-info">configuration</span> {v.configured}
      {unit ?? ""} from {v.env} (or its default)
    </span>
  ) : (
    <span data-source="unset">
      <span class="badge tone-neutral">not set</span> ({v.env})
    </span>
  );

interface InputProps {
  form: string;
  name: string;
  label: string;
  v: SourcedValue;
  value?: string;
  error?: string;
  type?: string;
  step?: string;
  unit?: string;
  mono?: boolean;
}

/** A field showing what is saved here (empty: the configuration's value applies, shown as its placeholder). */
const SourcedInput: FC<InputProps> = ({ form, name, label, v, value, error, type = "text", step, unit, mono }) => {
  const id = `${form}-${name}`;
  return (
    <div>
      <label class="label" for={id}>
        {label}
      </label>
      <input
        id={id}
        name={name}
        type={type}
        step={step}
        min={type === "number" ? "0" : undefined}
        class={`field${mono ? " font-mono" : ""}${error ? " field-error" : ""}`}
        value={value ?? v.saved}
        placeholder={v.configured || undefined}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={`${id}-hint${error ? ` ${id}-error` : ""}`}
      />
      <p class="hint" id={`${id}-hint`}>
        <SourceHint v={v} unit={unit} />
      </p>
      <FieldError error={error} id={`${id}-error`} />
    </div>
  );
};

const Saving: FC<{ label: string }> = ({ label }) => (
  <button type="submit" class="btn-primary">
    <span class="spinner htmx-indicator" aria-hidden="true" />
    {label}
  </button>
);

export const Readiness: FC<{ r: ModelReadiness }> = ({ r }) =>
  r.ready ? (
    <div class="rounded-md tone-ok px-3 py-2 text-sm" role="status" data-model-ready="true">
      In use: <strong>{r.settings.provider}</strong> · <code>{r.settings.model}</code>
      {r.settings.baseUrl ? <> at <code class="break-all">{r.settings.baseUrl}</code></> : null} · up to {r.settings.maxTokens} output tokens a call · ${r.settings.priceInputPerMTok} / $
      {r.settings.priceOutputPerMTok} per million tokens in / out
    </div>
  ) : r.none ? (
    <div class="rounded-md tone-neutral px-3 py-2 text-sm" role="status" data-model-ready="none">
      No model is configured: questions a policy sends to the model go to a person instead. Choose a provider and a model below (or set AGENTVINE_LLM_PROVIDER and AGENTVINE_LLM_MODEL).
    </div>
  ) : (
    <div class="rounded-md tone-warn px-3 py-2 text-sm" role="status" data-model-ready="false">
      The model cannot be called as configured — questions for it go to a person until this is fixed:
      <ul class="mt-1 list-disc pl-5">
        {r.problems.map((p) => (
          <li>
            {p.field}: {p.message}
          </li>
        ))}
      </ul>
    </div>
  );

const KeyState: FC<{ s: SecretState; what: string }> = ({ s, what }) =>
  s.set ? (
    <span data-secret-state={s.source ?? ""}>
      <span class="badge tone-ok">set</span> {s.source === "secrets" ? `saved in the secrets store as ${s.name}` : `from the environment (${s.name})`}. It is never shown again; type a new one to replace it.
    </span>
  ) : (
    <span data-secret-state="none">
      <span class="badge tone-neutral">not set</span> {what}
    </span>
  );

export interface ModelSectionProps {
  data: ModelsPageData;
  values?: FormValues;
  errors?: FormErrors;
}

export const ModelSection: FC<ModelSectionProps> = ({ data, values = {}, errors = {} }) => {
  const f = data.fields;
  const v = (k: string) => values[k];
  return (
    <Section id="model" title="Model" description="Answers the questions a policy routes to the model. Values saved here win over the server's configuration; leave a field empty to use the configuration.">
      <Readiness r={data.readiness} />
      <form id="model-form" method="post" action="/settings/models" hx-post="/settings/models" hx-target="#model" hx-swap="outerHTML" class="flex flex-col gap-4" novalidate>
        {Object.keys(errors).length ? (
          <div class="rounded-md tone-err px-3 py-2 text-sm" role="alert">
            Nothing was saved. Please fix: {Object.keys(errors).join(", ")}.
          </div>
        ) : null}
        <div class="grid gap-4 sm:grid-cols-2">
          <div>
            <label class="label" for="m-provider">
              Provider
            </label>
            <select id="m-provider" name="provider" class={`field${errors.provider ? " field-error" : ""}`} aria-describedby="m-provider-hint">
              <option value="">{f.provider!.configured ? `configuration: ${f.provider!.configured}` : "— none —"}</option>
              {LLM_PROVIDERS.map((p) => (
                <option value={p} selected={(v("provider") ?? f.provider!.saved) === p}>
                  {p}
                  {p === "openai-compatible" ? " (Ollama, vLLM, LM Studio, llama.cpp)" : ""}
                </option>
              ))}
            </select>
            <p class="hint" id="m-provider-hint">
              <SourceHint v={f.provider!} />
            </p>
            <FieldError error={errors.provider} id="m-provider-error" />
          </div>
          <SourcedInput form="m" name="model" label="Model" v={f.model!} value={v("model")} error={errors.model} mono />
        </div>
        <SourcedInput form="m" name="base_url" label="Base URL (the API root, …/v1)" v={f.base_url!} value={v("base_url")} error={errors.base_url} type="url" mono />
        <div>
          <label class="label" for="m-api_key">
            API key
          </label>
          <input
            id="m-api_key"
            name="api_key"
            type="password"
            autocomplete="new-password"
            class={`field font-mono${errors.api_key ? " field-error" : ""}`}
            placeholder={data.key.set ? "•••••••• (leave empty to keep it)" : "sk-…"}
            aria-describedby="m-api_key-hint"
          />
          <p class="hint" id="m-api_key-hint">
            <KeyState s={data.key} what="(anthropic and openai need one; a local openai-compatible server usually does not)." />
          </p>
          <FieldError error={errors.api_key} id="m-api_key-error" />
        </div>
        <div class="grid gap-4 sm:grid-cols-2">
          <SourcedInput form="m" name="max_tokens" label="Max output tokens per call" v={f.max_tokens!} value={v("max_tokens")} error={errors.max_tokens} type="number" step="1" />
          <SourcedInput form="m" name="temperature" label="Temperature (0–2)" v={f.temperature!} value={v("temperature")} error={errors.temperature} type="number" step="0.1" />
          <SourcedInput form="m" name="price_input" label="Price per million input tokens (USD)" v={f.price_input!} value={v("price_input")} error={errors.price_input} type="number" step="any" />
          <SourcedInput form="m" name="price_output" label="Price per million output tokens (USD)" v={f.price_output!} value={v("price_output")} error={errors.price_output} type="number" step="any" />
          <SourcedInput form="m" name="timeout_seconds" label="Timeout per call (seconds)" v={f.timeout_seconds!} value={v("timeout_seconds")} error={errors.timeout_seconds} type="number" step="1" unit=" s" />
        </div>
        <div class="flex flex-wrap justify-end gap-2 border-t border-line pt-4">
          <Saving label="Save model settings" />
        </div>
      </form>
      {data.key.source === "secrets" ? (
        <form
          method="post"
          action="/settings/models/key/delete"
          hx-post="/settings/models/key/delete"
          hx-target="#model"
          hx-swap="outerHTML"
          hx-confirm="Remove the saved API key? Calls to a hosted provider fail until a key is set again (the environment's AGENTVINE_LLM_API_KEY applies if there is one)."
          data-confirm-title="Remove the API key?"
          data-confirm-label="Remove key"
          class="flex justify-end"
        >
          <button type="submit" class="btn-danger btn-sm" data-remove-key="">
            Remove key
          </button>
        </form>
      ) : null}
      <div class="flex flex-col gap-2 border-t border-line pt-4">
        <form method="post" action="/settings/models/test" hx-post="/settings/models/test" hx-target="#model-test-result" hx-swap="outerHTML" class="flex flex-wrap items-center gap-3">
          <button type="submit" class="btn" data-test-model="">
            <span class="spinner htmx-indicator" aria-hidden="true" />
            Test the model
          </button>
          <span class="text-xs text-muted">Asks it one short question, counted against the daily budget like any call.</span>
        </form>
        <ModelTestResultView />
      </div>
    </Section>
  );
};

export const ModelTestResultView: FC<{ result?: ModelTestResult }> = ({ result }) => (
  <div id="model-test-result" aria-live="polite">
    {result === undefined ? null : result.ok ? (
      <div class="rounded-md tone-ok px-3 py-2 text-sm" data-test-result="ok">
        <p class="whitespace-pre-wrap break-words text-fg">“{result.answer}”</p>
        <p class="mt-1 text-xs">
          {result.model} · {duration(result.latencyMs)} · {result.inputTokens} tokens in, {result.outputTokens} out{result.estimated ? " (estimated)" : ""} · ${result.costUsd.toFixed(6)}
        </p>
      </div>
    ) : (
      <div class="rounded-md tone-err px-3 py-2 text-sm" role="alert" data-test-result="error">
        <p class="break-words">{result.error}</p>
      </div>
    )}
  </div>
);

export const BudgetSection: FC<{ data: ModelsPageData; today: { usd: number; tokens: number }; values?: FormValues; errors?: FormErrors }> = ({ data, today, values = {}, errors = {} }) => {
  const b = data.budgets;
  const row = (title: string, usd: string, tokens: string) => (
    <fieldset class="grid gap-3 sm:grid-cols-2">
      <legend class="mb-1 text-sm font-medium">{title}</legend>
      <SourcedInput form="b" name={usd} label="US dollars" v={b[usd]!} value={values[usd]} error={errors[usd]} type="number" step="any" />
      <SourcedInput form="b" name={tokens} label="Tokens" v={b[tokens]!} value={values[tokens]} error={errors[tokens]} type="number" step="1" />
    </fieldset>
  );
  return (
    <Section
      id="budgets"
      title="Budgets"
      description="The most the model may spend. Every call reserves its worst case first and is refused, unmade, if a budget would be overspent. 0 means no limit; with no prices set, only the token limits hold."
    >
      <p class="text-sm" data-today="">
        Today (UTC) so far: <strong>${today.usd.toFixed(4)}</strong> and <strong>{today.tokens.toLocaleString("en-US")}</strong> tokens, reservations included.
      </p>
      <form id="budget-form" method="post" action="/settings/models/budgets" hx-post="/settings/models/budgets" hx-target="#budgets" hx-swap="outerHTML" class="flex flex-col gap-4" novalidate>
        {Object.keys(errors).length ? (
          <div class="rounded-md tone-err px-3 py-2 text-sm" role="alert">
            Nothing was saved. Please fix: {Object.keys(errors).join(", ")}.
          </div>
        ) : null}
        {row("Per task", "task_usd", "task_tokens")}
        {row("Per plan run", "run_usd", "run_tokens")}
        {row("Per day (UTC), everything together", "daily_usd", "daily_tokens")}
        <div class="flex justify-end border-t border-line pt-4">
          <Saving label="Save budgets" />
        </div>
      </form>
    </Section>
  );
};

export const WebhookSection: FC<{ data: ModelsPageData; values?: FormValues; errors?: FormErrors }> = ({ data, values = {}, errors = {} }) => {
  const w = data.webhook;
  return (
    <Section
      id="webhook"
      title="Webhook"
      description={
        <>
          POSTed as JSON when a question starts waiting for a person, signed with HMAC-SHA256 when a secret is set (<code>X-AgentVine-Signature: sha256=…</code>) — route it to your team's chat.
        </>
      }
    >
      <form id="webhook-form" method="post" action="/settings/models/webhook" hx-post="/settings/models/webhook" hx-target="#webhook" hx-swap="outerHTML" class="flex flex-col gap-4" novalidate>
        <SourcedInput form="w" name="url" label="URL" v={w.url} value={values.url} error={errors.url} type="url" mono />
        <p class="-mt-2 text-xs text-muted">{w.active ? "On: each new question for a person is announced." : "Off: no URL."} Saving an empty URL turns it off, even over the configuration.</p>
        <div>
          <label class="label" for="w-secret">
            Signing secret
          </label>
          <input id="w-secret" name="secret" type="password" autocomplete="new-password" class={`field font-mono${errors.secret ? " field-error" : ""}`} placeholder={w.secret.set ? "•••••••• (leave empty to keep it)" : ""} aria-describedby="w-secret-hint" />
          <p class="hint" id="w-secret-hint">
            <KeyState s={w.secret} what="(optional: without one the webhook is not signed)." />
          </p>
          <FieldError error={errors.secret} id="w-secret-error" />
        </div>
        <div class="flex justify-end border-t border-line pt-4">
          <Saving label="Save webhook" />
        </div>
      </form>
      <div class="flex flex-wrap justify-end gap-2">
        {w.savedOverride ? (
          <form method="post" action="/settings/models/webhook/reset" hx-post="/settings/models/webhook/reset" hx-target="#webhook" hx-swap="outerHTML">
            <button type="submit" class="btn btn-sm">
              Use the configuration's URL
            </button>
          </form>
        ) : null}
        {w.secret.source === "secrets" ? (
          <form
            method="post"
            action="/settings/models/webhook/secret/delete"
            hx-post="/settings/models/webhook/secret/delete"
            hx-target="#webhook"
            hx-swap="outerHTML"
            hx-confirm="Remove the webhook's signing secret? Webhooks are sent unsigned until a new one is set."
            data-confirm-title="Remove the signing secret?"
            data-confirm-label="Remove secret"
          >
            <button type="submit" class="btn-danger btn-sm">
              Remove secret
            </button>
          </form>
        ) : null}
      </div>
    </Section>
  );
};

export interface ModelsPageProps {
  data: ModelsPageData;
  today: { usd: number; tokens: number };
  costs: Child;
}

export const ModelsPage: FC<ModelsPageProps> = ({ data, today, costs }) => (
  <div class="mx-auto flex max-w-4xl flex-col gap-4">
    <nav class="text-sm text-muted" aria-label="Breadcrumb">
      <a href="/settings" class="link">
        Settings
      </a>{" "}
      / Models
    </nav>
    <div class="flex flex-wrap items-end justify-between gap-3">
      <div class="min-w-0">
        <h1 class="text-xl font-semibold sm:text-2xl">Models</h1>
        <p class="mt-1 text-sm text-muted">The model the controller asks, what it may spend, and who hears of questions waiting for a person.</p>
      </div>
      <nav class="flex flex-wrap gap-1 text-sm" aria-label="Sections">
        {[
          ["#model", "Model"],
          ["#budgets", "Budgets"],
          ["#webhook", "Webhook"],
          ["#costs", "Costs"],
        ].map(([href, text]) => (
          <a href={href} class="btn-ghost btn-sm">
            {text}
          </a>
        ))}
      </nav>
    </div>
    <ModelSection data={data} />
    <BudgetSection data={data} today={today} />
    <WebhookSection data={data} />
    {costs}
  </div>
);
