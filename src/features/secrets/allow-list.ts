// Who may use a secret: each secret's allow-list — the roles whose tasks may reference it, the task types,
// for http tasks the destination hosts, and whether it may be sent to remote workers — and the checks
// that refuse a use, naming the rule. Pure: the SecretStore stores the lists and calls these.
import { z } from "zod";
import { ROLES, type Role } from "../../db/schema.ts";

export interface SecretAllow {
  /** Roles whose tasks may use it (the task's author's role); empty: no task may (the server's own keys). */
  roles: Role[];
  /** Task types that may use it; null: any. */
  task_types: string[] | null;
  /** For http tasks, the hosts it may be sent to (`api.example.com`, `*.example.com`); null: any. */
  hosts: string[] | null;
  /** May be handed to remote workers (other machines); false keeps it on the server's own threads. */
  remote_workers: boolean;
}

/** A new secret: admins' tasks only, any type and host, never to a remote worker. */
export const DEFAULT_ALLOW: SecretAllow = { roles: ["admin"], task_types: null, hosts: null, remote_workers: false };
/** Names the server keeps for its own use (the model's API key, the webhook's signing key): no task may use them unless an admin says so. */
export const SERVER_SECRET_PREFIX = "AGENTVINE_";
export const SERVER_ONLY_ALLOW: SecretAllow = { roles: [], task_types: null, hosts: null, remote_workers: false };

export const defaultAllowFor = (name: string): SecretAllow => (name.startsWith(SERVER_SECRET_PREFIX) ? SERVER_ONLY_ALLOW : DEFAULT_ALLOW);

const HOST = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$|^[0-9.]+$/;

export const SecretAllowSchema = z.strictObject({
  roles: z.array(z.enum(ROLES.filter((r) => r !== "viewer") as ["operator", "admin"])).max(3).describe("Roles whose tasks may use it: admin, operator (viewers submit nothing); [] = no task"),
  task_types: z.array(z.string().min(1).max(100)).max(100).nullable().default(null).describe("Task types that may use it; null = any"),
  hosts: z
    .array(
      z
        .string()
        .trim()
        .toLowerCase()
        .max(253)
        .refine((h) => HOST.test(h), "a host name (api.example.com), a wildcard (*.example.com) or an IP address"),
    )
    .max(100)
    .nullable()
    .default(null)
    .describe("For http tasks: hosts it may be sent to (exact, or *.example.com for subdomains); null = any. Set, it also limits the secret to http tasks"),
  remote_workers: z.boolean().default(false).describe("May be sent to remote workers (other machines)"),
});

/** What a use is: who wrote the task, its type, where an http task sends it, whether a remote worker runs it. */
export interface SecretUse {
  /** The role of the task's author; null: the system (engine-internal submissions, the offline CLI). */
  role: Role | null;
  taskType: string;
  /** An http task's destination host, when known (a templated URL is known only when the step runs). */
  host?: string | null;
  remote?: boolean;
}

/** Why `use` may not use secret `name`, naming the rule; null when it may. */
export function refusal(name: string, allow: SecretAllow, use: SecretUse): string | null {
  if (use.role !== null && !allow.roles.includes(use.role)) {
    if (allow.roles.length === 0) return `secret '${name}' is kept for the server's own use: its allow-list names no role whose tasks may use it`;
    return `secret '${name}' may be used by tasks of ${allow.roles.join(" or ")} only (its allow-list's roles); the task's author is ${use.role === "operator" ? "an operator" : `a ${use.role}`}`;
  }
  if (allow.task_types && !allow.task_types.includes(use.taskType)) {
    return `secret '${name}' may be used by ${allow.task_types.map((t) => `'${t}'`).join(", ") || "no"} tasks only (its allow-list's task types), not '${use.taskType}'`;
  }
  if (allow.hosts) {
    if (use.taskType !== "http") return `secret '${name}' may be sent only to ${allow.hosts.join(", ")} (its allow-list's hosts): only http tasks, whose destination is checked, may use it, not '${use.taskType}'`;
    if (use.host != null && !hostAllowed(use.host, allow.hosts)) {
      return `secret '${name}' may be sent only to ${allow.hosts.join(", ")} (its allow-list's hosts), not to ${use.host}`;
    }
  }
  if (use.remote && !allow.remote_workers) return `secret '${name}' may not be sent to remote workers (its allow-list keeps it on the server's own threads)`;
  return null;
}

export function hostAllowed(host: string, allowed: string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return allowed.some((a) => (a.startsWith("*.") ? h.endsWith(a.slice(1)) && h.length > a.length - 1 : h === a));
}

/** The destination host of an http task's params (its `url`), or null when it is not a plain URL yet (a template). */
export function httpHost(params: Record<string, unknown>): string | null {
  const url = params.url;
  if (typeof url !== "string" || url.includes("{{")) return null;
  try {
    return new URL(url).hostname;
  } catch {
    return null;
  }
}

export function parseAllow(text: string | null, name: string): SecretAllow {
  if (!text) return defaultAllowFor(name);
  const parsed = SecretAllowSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : defaultAllowFor(name);
}
