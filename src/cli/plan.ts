// `agentvine plan list|show|run|apply|export`: plans from the command line, through the TaskClient —
// including plans as code: files (YAML or JSON) in a repository, applied to the server, exported back.
import { readFileSync } from "node:fs";
import { TERMINAL, type Plan, type PlanDefinition, type Task } from "../client/task-client.ts";
import { TaskClientError } from "../client/task-client.ts";
import { unknownCommand, clientFor, COMMON_HELP, commonOptions, exitCodeOf, keyValues, UsageError, type Out, parseSubcommand } from "./common.ts";

const USAGE = `Usage: agentvine plan <command> [options]

Commands:
  list [--q TEXT] [--limit N]      plans, most recently saved first
  show NAME [--version N]          a plan's steps (NAME may also be its id)
  apply FILE... | -                create or update each plan a file defines (YAML or JSON: name, description,
                                   steps — what export prints); a change saves a new version, the same
                                   plan again changes nothing
  export NAME [--version N] [--format yaml|json]
                                   print the plan as a file apply takes (YAML unless --format json / --json)
  run NAME [--input k=v ...] [--inputs JSON] [--priority high|default|low] [--wait [--timeout S]] [--quiet]
                                   start a run; with --wait, print each step's status when it ends
                                   and exit 0 if the run succeeded, 1 if not (124: still running at --timeout);
                                   --quiet (-q) prints only the run's id

${COMMON_HELP}`;

export async function planCommand(argv: string[], env: Record<string, string | undefined> = process.env, out: Out = console): Promise<number> {
  const parsed = parseSubcommand("plan", argv, USAGE, {
        ...commonOptions,
        q: { type: "string" },
        limit: { type: "string" },
        version: { type: "string" },
        input: { type: "string", multiple: true },
        inputs: { type: "string" },
        priority: { type: "string" },
        wait: { type: "boolean", default: false },
        timeout: { type: "string" },
        quiet: { type: "boolean", short: "q", default: false },
        format: { type: "string" },
      }, out);
  if (typeof parsed === "number") return parsed;
  const { command, values: o, positionals } = parsed;
  let client: ReturnType<typeof clientFor>;
  try {
    client = clientFor(o, env);
  } catch (err) {
    return exitCodeOf(err, out);
  }
  const needName = () => {
    const name = positionals[0];
    if (!name) throw new UsageError(`agentvine plan ${command} needs a plan name or id`);
    return name;
  };
  try {
    switch (command) {
      case "list": {
        const page = await client.listPlans({ q: o.q, per_page: o.limit ? positiveInt("--limit", o.limit) : 20 });
        if (o.json) out.log(JSON.stringify(page, null, 2));
        else {
          for (const p of page.items) {
            const last = p.last_run ? `last run ${p.last_run.status}` : "never run";
            out.log(`${p.id}  v${String(p.version).padEnd(3)} ${String(p.steps_count).padStart(3)} steps  ${last.padEnd(22)} ${p.name}`);
          }
          out.log(`(${page.items.length} of ${page.total})`);
        }
        return 0;
      }
      case "show": {
        const plan = await client.getPlan(needName(), { version: o.version ? positiveInt("--version", o.version) : undefined });
        out.log(o.json ? JSON.stringify(plan, null, 2) : describePlan(plan));
        return 0;
      }
      case "run": {
        const name = needName();
        const inputs = runInputs(o.inputs, o.input ?? []);
        const priority = o.priority as "high" | "default" | "low" | undefined;
        const timeoutSeconds = o.timeout ? positiveNumber("--timeout", o.timeout) : undefined;
        if (timeoutSeconds !== undefined && !o.wait) throw new UsageError("--timeout only applies with --wait");
        let run = await client.runPlan(name, { inputs, ...(priority ? { priority } : {}) });
        if (!o.wait) {
          out.log(o.quiet ? run.id : o.json ? JSON.stringify(run, null, 2) : describeRun(run, null));
          return 0;
        }
        if (o.quiet) out.log(run.id);
        else if (!o.json) out.log(`started run ${run.id} of ${run.title}; waiting…`);
        run = await client.wait(run.id, { timeoutSeconds });
        const steps = await client.subtasks(run.id);
        if (!o.quiet) out.log(o.json ? JSON.stringify({ run, steps }, null, 2) : describeRun(run, steps));
        if (!TERMINAL.has(run.status)) return 124;
        return run.status === "succeeded" ? 0 : 1;
      }
      case "apply": {
        if (positionals.length === 0) throw new UsageError("agentvine plan apply needs a file (or - for stdin)");
        // Every file is read (and checked to be a plan) before anything is sent; a refusal stops there.
        const definitions = positionals.map(readPlanFile);
        for (const definition of definitions) {
          const result = await applyPlan(client, definition);
          out.log(o.json ? JSON.stringify(result.plan, null, 2) : result.line);
        }
        return 0;
      }
      case "export": {
        const plan = await client.getPlan(needName(), { version: o.version ? positiveInt("--version", o.version) : undefined });
        const format = o.json ? "json" : (o.format ?? "yaml");
        if (format !== "yaml" && format !== "json") throw new UsageError(`--format ${format}: expected yaml or json`);
        const definition = definitionOf(plan);
        out.log(format === "json" ? JSON.stringify(definition, null, 2) : `# ${plan.name} v${plan.version}: agentvine plan apply FILE\n${Bun.YAML.stringify(definition, null, 2).trimEnd()}`);
        return 0;
      }
      default:
        out.error(unknownCommand("plan", command));
        return 2;
    }
  } catch (err) {
    return exitCodeOf(err, out, client);
  }
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} ${v}: expected a whole number ≥ 1`);
  return n;
}

function positiveNumber(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} ${v}: expected a number of seconds ≥ 0`);
  return n;
}

/** --inputs JSON first, then each --input k=v on top of it. */
function runInputs(json: string | undefined, pairs: string[]): Record<string, unknown> {
  let inputs: Record<string, unknown> = {};
  if (json !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw new UsageError(`--inputs: not valid JSON (${(err as Error).message})`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UsageError("--inputs: expected a JSON object");
    inputs = value as Record<string, unknown>;
  }
  return keyValues("input", pairs, inputs);
}

function describePlan(p: Plan): string {
  const lines = [`${p.name}  v${p.version}  ${p.id}`];
  if (p.description) lines.push(p.description);
  const sequential = p.steps.every((s) => s.depends_on.length === 0);
  lines.push("", `steps (${sequential ? "in order" : "a DAG"}):`);
  const width = Math.max(...p.steps.map((s) => s.name.length));
  p.steps.forEach((s, i) => {
    const after = sequential ? (i > 0 ? [p.steps[i - 1]!.name] : []) : s.depends_on;
    const extras = [
      after.length ? `after ${after.join(", ")}` : null,
      s.timeout_seconds !== undefined ? `timeout ${s.timeout_seconds}s` : null,
      s.max_retries !== undefined ? `retries ${s.max_retries}` : null,
      s.priority ? `priority ${s.priority}` : null,
    ].filter(Boolean);
    lines.push(`  ${s.name.padEnd(width)}  ${s.task_type.padEnd(8)} ${JSON.stringify(s.params)}${extras.length ? `  (${extras.join("; ")})` : ""}`);
  });
  if (p.last_run) lines.push("", `last run: ${p.last_run.id}  ${p.last_run.status}  ${p.last_run.created_at}`);
  return lines.join("\n");
}

function describeRun(run: Task, steps: Task[] | null): string {
  const lines = [`${run.id}  ${run.status}  "${run.title}"`];
  if (run.error) lines.push(`error:  ${run.error}`);
  if (!steps) return lines.join("\n");
  const width = Math.max(0, ...steps.map((s) => s.title.length));
  for (const s of steps) lines.push(`  ${s.title.padEnd(width)}  ${s.status.padEnd(9)}${s.error ? ` ${s.error}` : ""}`.trimEnd());
  return lines.join("\n");
}

/** A plan file: YAML or JSON (JSON is YAML too), `-` for stdin. */
function readPlanFile(file: string): PlanDefinition {
  let text: string;
  try {
    text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = Bun.YAML.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid YAML or JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UsageError(`${file}: expected a plan: name, description, steps`);
  const name = (value as { name?: unknown }).name;
  if (typeof name !== "string" || !name.trim()) throw new UsageError(`${file}: the plan needs a name`);
  return value as PlanDefinition;
}

/** Creates the plan, or saves it over the one of that name; says which (and the versions). */
async function applyPlan(client: ReturnType<typeof clientFor>, definition: PlanDefinition): Promise<{ plan: Plan; line: string }> {
  let existing: Plan | null = null;
  try {
    existing = await client.getPlan(definition.name);
  } catch (err) {
    if (!(err instanceof TaskClientError) || err.status !== 404) throw err;
  }
  if (!existing) {
    const plan = await client.createPlan(definition);
    return { plan, line: `created plan ${plan.name} (v${plan.version}, ${plan.steps.length} step${plan.steps.length === 1 ? "" : "s"})` };
  }
  const plan = await client.updatePlan(existing.id, definition);
  return {
    plan,
    line: plan.version === existing.version ? `plan ${plan.name} unchanged (v${plan.version})` : `updated plan ${plan.name}: v${existing.version} → v${plan.version}`,
  };
}

/** What `export` prints: the plan as written, without server fields; empty options left out. */
function definitionOf(plan: Plan): PlanDefinition {
  return {
    name: plan.name,
    ...(plan.description ? { description: plan.description } : {}),
    steps: plan.steps.map((s) => ({
      name: s.name,
      task_type: s.task_type,
      params: s.params,
      ...(s.depends_on.length ? { depends_on: s.depends_on } : {}),
      ...(s.timeout_seconds !== undefined ? { timeout_seconds: s.timeout_seconds } : {}),
      ...(s.max_retries !== undefined ? { max_retries: s.max_retries } : {}),
      ...(s.priority ? { priority: s.priority } : {}),
    })),
  };
}
