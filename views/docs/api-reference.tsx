/** @jsxImportSource hono/jsx */
// /docs: the API reference, rendered on the server from the OpenAPI document (no script, no CDN: it works
// offline from the binary). Each operation: who may call it, its parameters, a curl example with an
// example body, and its answers — errors in the one error shape.
import type { FC } from "hono/jsx";
import { PageHeader } from "../components/ui.tsx";

export interface DocOperation {
  id: string;
  method: string;
  path: string;
  summary: string;
  description?: string;
  access: string;
  params: Array<{ name: string; in: string; required: boolean; description?: string }>;
  body?: unknown;
  responses: Array<{ status: string; description: string; example?: unknown }>;
}

export interface DocTag {
  name: string;
  operations: DocOperation[];
}

const METHOD_TONE: Record<string, string> = { get: "tone-info", post: "tone-ok", put: "tone-warn", patch: "tone-warn", delete: "tone-err" };

function curl(op: DocOperation, base: string): string {
  const path = op.path.replace(/\{(\w+)\}/g, (_, n: string) => `$${n.toUpperCase()}`);
  const parts = [`curl -s${op.method === "get" ? "" : ` -X ${op.method.toUpperCase()}`} "${base}${path}"`];
  if (op.access !== "public") parts.push(`-H "Authorization: Bearer $TOKEN"`);
  if (op.body !== undefined) parts.push(`-H 'content-type: application/json'`, `-d '${JSON.stringify(op.body)}'`);
  return parts.join(" \\\n  ");
}

const Json: FC<{ value: unknown }> = ({ value }) => <pre class="max-h-72 overflow-auto whitespace-pre-wrap break-words rounded-md bg-surface-2 p-3 text-xs">{JSON.stringify(value, null, 2)}</pre>;

export const ApiReference: FC<{ tags: DocTag[]; base: string; version: string }> = ({ tags, base, version }) => (
  <>
    <PageHeader
      title="API reference"
      subtitle={
        <>
          AgentVine {version} · base <code>{base}/api/v1</code> · JSON in and out · errors are always <code>{'{"error": {"code", "message", "details"}}'}</code> · the same document as{" "}
          <a class="link" href="/api/v1/openapi.json">
            /api/v1/openapi.json
          </a>
        </>
      }
    />
    <div class="flex flex-col gap-6 lg:flex-row">
      <nav class="card h-fit p-3 text-sm lg:sticky lg:top-16 lg:w-48 lg:shrink-0" aria-label="Sections">
        <ul class="flex flex-wrap gap-2 lg:flex-col lg:gap-1">
          {tags.map((t) => (
            <li>
              <a class="link" href={`#tag-${t.name}`}>
                {t.name}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="flex min-w-0 flex-1 flex-col gap-6">
        <section class="card p-4 text-sm">
          <h2 class="mb-2 font-semibold">Authentication</h2>
          <p>
            Send <code>Authorization: Bearer TOKEN</code> — an API key (<code>agentvine apikey create NAME --scope api</code>, or the API keys page) or an access token from <code>POST /api/v1/auth/login</code>. Each
            operation says the least role it needs; <code>worker</code> operations take a worker-scoped key.
          </p>
        </section>
        {tags.map((t) => (
          <section id={`tag-${t.name}`} class="flex flex-col gap-3">
            <h2 class="text-lg font-semibold">{t.name}</h2>
            {t.operations.map((op) => (
              <article id={op.id} class="card flex min-w-0 flex-col gap-2 p-4" data-operation={`${op.method.toUpperCase()} ${op.path}`}>
                <h3 class="flex flex-wrap items-center gap-2">
                  <span class={`badge ${METHOD_TONE[op.method] ?? "tone-neutral"} uppercase`}>{op.method}</span>
                  <code class="break-all font-semibold">{op.path}</code>
                  <span class="badge tone-neutral">{op.access === "public" ? "no sign-in" : op.access}</span>
                </h3>
                <p class="text-sm font-medium">{op.summary}</p>
                {op.description ? <p class="text-sm text-muted">{op.description}</p> : null}
                {op.params.length ? (
                  <ul class="text-sm">
                    {op.params.map((p) => (
                      <li>
                        <code>{p.name}</code> <span class="text-xs text-muted">({p.in}{p.required ? ", required" : ""})</span> {p.description ?? ""}
                      </li>
                    ))}
                  </ul>
                ) : null}
                <details>
                  <summary class="cursor-pointer text-sm">Example</summary>
                  <pre class="mt-2 overflow-auto whitespace-pre rounded-md bg-surface-2 p-3 text-xs" data-curl="">{curl(op, base)}</pre>
                </details>
                <details>
                  <summary class="cursor-pointer text-sm">Answers: {op.responses.map((r) => r.status).join(", ")}</summary>
                  <ul class="mt-2 flex flex-col gap-2 text-sm">
                    {op.responses.map((r) => (
                      <li>
                        <span class={`badge ${r.status.startsWith("2") ? "tone-ok" : r.status === "default" ? "tone-neutral" : "tone-err"}`}>{r.status}</span> {r.description}
                        {r.example !== undefined ? <Json value={r.example} /> : null}
                      </li>
                    ))}
                  </ul>
                </details>
              </article>
            ))}
          </section>
        ))}
      </div>
    </div>
  </>
);
