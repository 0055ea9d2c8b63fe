// `agentvine task submit|get|list|logs|cancel|retry|wait`: the TaskClient from the command line.
import { readFileSync } from "node:fs";
import { TERMINAL, type NewTaskRequest, type Task } from "../client/task-client.ts";
import { unknownCommand, clientFor, COMMON_HELP, commonOptions, exitCodeOf, keyValues, UsageError, type Out, parseSubcommand } from "./common.ts";

const USAGE = `Usage: agentvine task <command> [options]

Commands:
  submit --type TYPE --title TITLE [--params JSON] [--param k=v ...] [--priority high|default|low]
         [--depends-on ID,ID] [--requires cap,cap] [--timeout S] [--max-retries N] [--file task.json|-]
         [--wait] [--quiet]      --quiet (-q) prints only the new task's id: ID=$(agentvine task submit … -q)
  get ID                 show a task
  list [--status S] [--type T] [--q TEXT] [--sort [-]created_at|duration|…] [--limit N] [--quiet]
  executions ID          its attempts, newest first (--quiet: their ids)
  logs ID [--follow]     the log of a task's latest execution
  cancel ID | retry ID
  wait ID [--timeout S]  wait until the task finishes; exit 1 unless it succeeded

ID is a whole task id, or its first or last characters as the pages show them (…f81ff48c).

${COMMON_HELP}`;

export async function taskCommand(argv: string[], env = process.env, out: Out = console): Promise<number> {
  const parsed = parseSubcommand("task", argv, USAGE, {
        ...commonOptions,
        type: { type: "string" },
        title: { type: "string" },
        description: { type: "string" },
        params: { type: "string" },
        param: { type: "string", multiple: true },
        priority: { type: "string" },
        "depends-on": { type: "string" },
        requires: { type: "string" },
        timeout: { type: "string" },
        "max-retries": { type: "string" },
        file: { type: "string", short: "f" },
        wait: { type: "boolean", default: false },
        follow: { type: "boolean", default: false },
        status: { type: "string" },
        q: { type: "string" },
        limit: { type: "string" },
        sort: { type: "string" },
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
  const print = (task: Task) => out.log(o.quiet ? task.id : o.json ? JSON.stringify(task, null, 2) : describe(task));
  // A whole id, or the start or end of one (the pages show …f81ff48c): resolved by the server.
  const needId = async () => {
    const id = positionals[0];
    if (!id) throw new UsageError(`agentvine task ${command} needs a task id (a whole id, or its first or last characters)`);
    return client.resolveId(id);
  };
  try {
    switch (command) {
      case "submit": {
        const body = buildSubmission(o);
        let task = await client.submit(body);
        if (!o.wait) {
          print(task);
          return 0;
        }
        if (o.quiet) out.log(task.id);
        else if (!o.json) out.log(`submitted ${task.id}; waiting…`);
        task = await client.wait(task.id);
        if (!o.quiet) print(task);
        return task.status === "succeeded" ? 0 : 1;
      }
      case "get":
        print(await client.get(await needId()));
        return 0;
      case "list": {
        const page = await client.list({ status: o.status, task_type: o.type, q: o.q, sort: o.sort, per_page: o.limit ? Number(o.limit) : 20 });
        if (o.quiet) for (const t of page.items) out.log(t.id);
        else if (o.json) out.log(JSON.stringify(page, null, 2));
        else {
          for (const t of page.items) out.log(`${t.id}  ${t.status.padEnd(13)} ${t.task_type.padEnd(8)} ${t.title}`);
          out.log(`(${page.items.length} of ${page.total})`);
        }
        return 0;
      }
      case "executions": {
        const id = await needId();
        const page = await client.executions(id);
        if (o.quiet) for (const e of page.items) out.log(e.id);
        else if (o.json) out.log(JSON.stringify(page, null, 2));
        else if (page.items.length === 0) out.log(`task ${id} has not run yet`);
        else {
          for (const e of page.items) {
            const took = e.duration_ms === null ? "-" : `${e.duration_ms} ms`;
            out.log(`${e.id}  #${e.attempt}  ${e.status.padEnd(9)} ${took.padStart(9)}  exit ${e.exit_code ?? "-"}  ${e.worker_id}`);
          }
        }
        return 0;
      }
      case "logs": {
        const id = await needId();
        const executions = await client.executions(id);
        const latest = executions.items[0];
        if (!latest) {
          out.error(`task ${id} has not run yet`);
          return 1;
        }
        const lines = o.follow ? client.follow(latest.id) : (async function* () {
          let after = 0;
          for (;;) {
            const page = await client.logs(latest.id, { after, limit: 5000 });
            yield* page.items;
            if (page.items.length < 5000) return;
            after = page.next_after;
          }
        })();
        for await (const line of lines) out.log(o.json ? JSON.stringify(line) : `${line.ts} ${line.level.toUpperCase().padEnd(5)} ${line.message}`);
        return 0;
      }
      case "cancel":
        print(await client.cancel(await needId()));
        return 0;
      case "retry":
        print(await client.retry(await needId()));
        return 0;
      case "wait": {
        const task = await client.wait(await needId(), { timeoutSeconds: o.timeout ? Number(o.timeout) : undefined });
        print(task);
        if (!TERMINAL.has(task.status)) return 124;
        return task.status === "succeeded" ? 0 : 1;
      }
      default:
        out.error(unknownCommand("task", command));
        return 2;
    }
  } catch (err) {
    return exitCodeOf(err, out, client);
  }
}

function buildSubmission(o: Record<string, unknown>): NewTaskRequest {
  let body: Record<string, unknown> = {};
  if (typeof o.file === "string") {
    const text = o.file === "-" ? readFileSync(0, "utf8") : readFileSync(o.file, "utf8");
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`--file: not valid JSON (${(err as Error).message})`);
    }
  }
  if (typeof o.params === "string") {
    try {
      body.params = JSON.parse(o.params);
    } catch (err) {
      throw new UsageError(`--params: not valid JSON (${(err as Error).message})`);
    }
  }
  const params = (o.param as string[] | undefined) ?? [];
  if (params.length) body.params = keyValues("param", params, { ...(body.params as object) });
  if (o.type) body.task_type = o.type;
  if (o.title) body.title = o.title;
  if (o.description) body.description = o.description;
  if (o.priority) body.priority = o.priority;
  if (o["depends-on"]) body.depends_on = String(o["depends-on"]).split(",").filter(Boolean);
  if (o.requires) body.requires = String(o.requires).split(",").filter(Boolean);
  if (o.timeout) body.timeout_seconds = Number(o.timeout);
  if (o["max-retries"]) body.max_retries = Number(o["max-retries"]);
  if (!body.task_type) throw new UsageError("task submit needs --type (or task_type in --file)");
  body.title ??= `${body.task_type} task`;
  return body as unknown as NewTaskRequest;
}

function describe(t: Task): string {
  const lines = [`${t.id}  ${t.status}  ${t.task_type}  "${t.title}"`];
  if (t.error) lines.push(`error:  ${t.error}`);
  if (t.result !== null && t.result !== undefined) lines.push(`result: ${JSON.stringify(t.result, null, 2)}`);
  return lines.join("\n");
}
