/** @jsxImportSource hono/jsx */
// The cost view of Settings → Models: settled model spend — calls, tokens in and out, dollars — per
// day, task, plan run and repository, from the one ledger every caller reserves against.
import type { FC } from "hono/jsx";
import type { CostRow } from "../../src/features/controller/budgets.ts";

export interface CostTables {
  day: CostRow[];
  task: Array<CostRow & { title?: string }>;
  run: Array<CostRow & { title?: string }>;
  repository: CostRow[];
}

const num = (n: number) => n.toLocaleString("en-US");
const usd = (n: number) => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;

const Table: FC<{ title: string; rows: Array<CostRow & { title?: string }>; label: (r: CostRow & { title?: string }) => unknown; empty: string }> = ({ title, rows, label, empty }) => (
  <div class="min-w-0">
    <h3 class="mb-1 text-sm font-semibold">{title}</h3>
    {rows.length === 0 ? (
      <p class="text-sm text-muted">{empty}</p>
    ) : (
      <div class="overflow-x-auto rounded-md border border-line">
        <table class="text-sm" data-costs={title}>
          <thead class="border-b border-line">
            <tr>
              <th class="th">{title.replace(/^By /, "")}</th>
              <th class="th text-right">Calls</th>
              <th class="th hidden text-right sm:table-cell">In</th>
              <th class="th hidden text-right sm:table-cell">Out</th>
              <th class="th text-right">Cost</th>
            </tr>
          </thead>
          <tbody class="divide-y divide-line">
            {rows.map((r) => (
              <tr>
                <td class="td max-w-48 truncate">{label(r)}</td>
                <td class="td text-right tabular-nums">{num(r.calls)}</td>
                <td class="td hidden text-right tabular-nums sm:table-cell">{num(r.input_tokens)}</td>
                <td class="td hidden text-right tabular-nums sm:table-cell">{num(r.output_tokens)}</td>
                <td class="td text-right tabular-nums">{usd(r.cost_usd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </div>
);

export const CostSection: FC<{ costs: CostTables }> = ({ costs }) => (
  <section id="costs" class="card min-w-0 scroll-mt-20 p-4 sm:p-5" aria-labelledby="costs-title">
    <h2 id="costs-title" class="text-lg font-semibold">
      Costs
    </h2>
    <p class="mt-1 text-sm text-muted">What the model's finished calls used (tokens as the provider reported them, dollars at the prices then in effect). A test of the model belongs to no task or run.</p>
    <div class="mt-4 grid gap-5 lg:grid-cols-2">
      <Table title="By day" rows={costs.day} label={(r) => r.key} empty="No calls yet." />
      <Table
        title="By task"
        rows={costs.task}
        label={(r) => (
          <a class="link" href={`/tasks/${r.key}`} title={r.key}>
            {r.title ?? r.key}
          </a>
        )}
        empty="No task has used the model yet."
      />
      <Table
        title="By plan run"
        rows={costs.run}
        label={(r) => (
          <a class="link" href={`/tasks/${r.key}`} title={r.key}>
            {r.title ?? r.key}
          </a>
        )}
        empty="No plan run has used the model yet."
      />
      <Table title="By repository" rows={costs.repository} label={(r) => <span class="break-all">{r.key}</span>} empty="No repository yet." />
    </div>
  </section>
);
