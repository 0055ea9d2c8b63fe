// `agentvine plan list|show|run`: plans from the command line, through the TaskClient.
import { TERMINAL, type Plan, type Task } from "../client/task-client.ts";
import { unknownCommand, clientFor, COMMON_HELP, commonOptions, exitCodeOf, keyValues, UsageError, type Out, parseSubcommand } from "./common.ts";

const USAGE = `Usage: agentvine plan <command> [options]

Commands:
  list [--q TEXT] [--limit N]      plans, most recently saved first
  show NAME [--version N]          a plan's steps (NAME may also be its id)
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
