// `agentvine user create|list|set-role|deactivate|activate|reset-password`: account administration
// straight on the data dir — how the first admin is made without the API, and how a locked-out admin
// gets back in.
import { ROLES, type Role } from "../db/schema.ts";
import { createPasswordReset, DEFAULT_RESET_TTL_SECONDS } from "../features/auth/password-resets.ts";
import { CreateUserBody } from "../features/auth/schemas.ts";
import { createUser, listUsers, updateUser } from "../features/auth/users.ts";
import { UsageError, type Out, parseSubcommand, unknownCommand } from "./common.ts";
import { recordedServerUrl } from "./server-record.ts";
import {
  CLI_ACTOR,
  OFFLINE_HELP,
  offlineExitCode,
  offlineOptions,
  readNewPassword,
  requireUser,
  shortIso,
  stdinPasswordInput,
  table,
  withOffline,
  type PasswordInput,
} from "./offline.ts";

const USAGE = `Usage: agentvine user <command> [options]

Commands:
  create USERNAME [--admin | --role viewer|operator|admin] [--email E] [--full-name N] [--password-stdin]
                         create an account (a viewer unless --admin or --role); the password is asked
                         twice on a terminal, else read as one line from stdin; exit 1 if the name is taken
  list                   every account: username, role, active, last sign-in
  set-role USERNAME ROLE change a user's role (viewer, operator or admin)
  deactivate USERNAME    sign the user out everywhere and refuse their sign-ins (not the last admin)
  activate USERNAME      let a deactivated user sign in again
  reset-password USERNAME [--base-url URL]
                         print a one-time link (valid for 1 hour) to set a new password; --base-url is the
                         server's address as users reach it (default: AGENTVINE_PUBLIC_URL, else the
                         address the server on this data dir was last started at)

${OFFLINE_HELP}`;

export async function userCommand(argv: string[], env = process.env, out: Out = console, input: PasswordInput = stdinPasswordInput): Promise<number> {
  const parsed = parseSubcommand("user", argv, USAGE, {
        ...offlineOptions,
        admin: { type: "boolean", default: false },
        role: { type: "string" },
        email: { type: "string" },
        "full-name": { type: "string" },
        "password-stdin": { type: "boolean", default: false },
        "base-url": { type: "string" },
      }, out);
  if (typeof parsed === "number") return parsed;
  const { command, values: o, positionals } = parsed;
  const args = (n: number, names: string) => {
    if (positionals.length !== n) throw new UsageError(`usage: agentvine user ${command} ${names}`);
    return positionals;
  };
  try {
    switch (command) {
      case "create": {
        const [username] = args(1, "USERNAME [--admin | --role ROLE] [--email E] [--full-name N] [--password-stdin]");
        if (o.admin && o.role !== undefined && o.role !== "admin") throw new UsageError(`--admin and --role ${o.role} disagree: give one`);
        const role = o.admin ? "admin" : (o.role ?? "viewer");
        // Everything but the password is checked before asking for it.
        const fields = CreateUserBody.omit({ password: true }).safeParse({ username, role, email: o.email, full_name: o["full-name"] });
        if (!fields.success) {
          const names: Record<string, string> = { username: "USERNAME", role: "--role", email: "--email", full_name: "--full-name" };
          throw new UsageError(fields.error.issues.map((i) => `${names[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join("\n"));
        }
        const password = await readNewPassword(input, o["password-stdin"]);
        return await withOffline(o, env, out, async ({ auth }) => {
          const user = await createUser(auth, { ...fields.data, password }, CLI_ACTOR);
          out.log(o.json ? JSON.stringify(user, null, 2) : `created ${user.role} '${user.username}' (${user.id})`);
          return 0;
        });
      }
      case "list": {
        args(0, "");
        return await withOffline(o, env, out, ({ auth }) => {
          const users = [];
          for (let page = 1; ; page++) {
            const batch = listUsers(auth, { page, per_page: 500 });
            users.push(...batch.items);
            if (users.length >= batch.total || batch.items.length === 0) break;
          }
          if (o.json) out.log(JSON.stringify(users, null, 2));
          else if (users.length === 0) out.log("no accounts yet: create the first admin with `agentvine user create NAME --admin`");
          else {
            const rows = users.map((u) => [u.username, u.role, u.is_active ? "yes" : "no", u.last_login_at ? shortIso(Date.parse(u.last_login_at)) : "never"]);
            for (const line of table(["USERNAME", "ROLE", "ACTIVE", "LAST LOGIN"], rows)) out.log(line);
          }
          return 0;
        });
      }
      case "set-role": {
        const [username, role] = args(2, `USERNAME ${ROLES.join("|")}`);
        if (!(ROLES as readonly string[]).includes(role!)) throw new UsageError(`ROLE must be one of ${ROLES.join(", ")} (got '${role}')`);
        return await withOffline(o, env, out, ({ auth }) => {
          const user = requireUser(auth, username!);
          const updated = updateUser(auth, user.id, { role: role as Role }, CLI_ACTOR);
          out.log(o.json ? JSON.stringify(updated, null, 2) : user.role === role ? `'${updated.username}' is already ${role}` : `'${updated.username}' is now ${role} (was ${user.role})`);
          return 0;
        });
      }
      case "deactivate":
      case "activate": {
        const [username] = args(1, "USERNAME");
        const active = command === "activate";
        return await withOffline(o, env, out, ({ auth }) => {
          const user = requireUser(auth, username!);
          const updated = updateUser(auth, user.id, { is_active: active }, CLI_ACTOR);
          const changed = (user.is_active === 1) !== active;
          out.log(o.json ? JSON.stringify(updated, null, 2) : changed ? `${command}d '${updated.username}'${active ? "" : ": signed out everywhere"}` : `'${updated.username}' was already ${command}d`);
          return 0;
        });
      }
      case "reset-password": {
        const [username] = args(1, "USERNAME [--base-url URL]");
        const base = o["base-url"];
        if (base !== undefined && !/^https?:\/\/[^\s/]+/i.test(base)) throw new UsageError(`--base-url: expected http(s)://host[:port] (got '${base}')`);
        return await withOffline(o, env, out, ({ auth, config }) => {
          const user = requireUser(auth, username!);
          const issued = createPasswordReset(auth, user.id, CLI_ACTOR, DEFAULT_RESET_TTL_SECONDS);
          // The address users reach the server at: --base-url, AGENTVINE_PUBLIC_URL, else where the server
          // on this data dir was last started (it records it), else this command's --port/--host.
          const host = ["0.0.0.0", "::", "[::]", "127.0.0.1"].includes(config.host) ? "localhost" : config.host;
          const fallback = `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${config.port}`;
          const server = (base ?? config.publicUrl ?? recordedServerUrl(auth.db) ?? fallback).replace(/\/+$/, "");
          const link = `${server}/reset-password?token=${issued.token}`;
          const expires = new Date(issued.expiresAt).toISOString();
          if (o.json) {
            out.log(JSON.stringify({ username: user.username, link, token: issued.token, expires_at: expires }, null, 2));
            return 0;
          }
          out.log(`One-time password reset for '${user.username}', valid until ${expires} (earlier links stop working):`);
          out.log(`  ${link}`);
          out.log(`Set the new password with the token (this also signs '${user.username}' out everywhere):`);
          out.log(`  curl -s -X POST ${server}/api/v1/auth/reset-password -H 'content-type: application/json' \\`);
          out.log(`    -d '{"token":"${issued.token}","new_password":"<at least 12 characters>"}'`);
          return 0;
        });
      }
      default:
        throw new UsageError(unknownCommand("user", command));
    }
  } catch (err) {
    return offlineExitCode(err, out);
  }
}
