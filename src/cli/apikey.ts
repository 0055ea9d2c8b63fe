// `agentvine apikey create|list|revoke`: API keys straight on the data dir — how a worker gets its key
// before anyone has signed in to the API.
import { createApiKey, listApiKeys, revokeApiKey } from "../features/auth/api-keys.ts";
import { CreateApiKeyBody } from "../features/auth/schemas.ts";
import { AppError } from "../errors.ts";
import { UsageError, type Out, parseSubcommand, unknownCommand } from "./common.ts";
import { CLI_ACTOR, OFFLINE_HELP, offlineExitCode, offlineOptions, requireUser, shortIso, table, withOffline } from "./offline.ts";

const USAGE = `Usage: agentvine apikey <command> [options]

Commands:
  create NAME --scope worker|api --user USERNAME
                 create a key owned by USERNAME and print it (shown this once, stored only as a hash):
                 worker keys serve the queue and worker endpoints, api keys act as USERNAME on the API
  list [--all]   the keys (--all: revoked ones too) with their owner and last use
  revoke ID      refused from then on (a running server notices within 30 s: its cache; the API and
                 the API keys page revoke at once)

${OFFLINE_HELP}`;

export async function apikeyCommand(argv: string[], env = process.env, out: Out = console): Promise<number> {
  const parsed = parseSubcommand("apikey", argv, USAGE, { ...offlineOptions, scope: { type: "string" }, user: { type: "string" }, all: { type: "boolean", default: false } }, out);
  if (typeof parsed === "number") return parsed;
  const { command, values: o, positionals } = parsed;
  const args = (n: number, names: string) => {
    if (positionals.length !== n) throw new UsageError(`usage: agentvine apikey ${command} ${names}`);
    return positionals;
  };
  try {
    switch (command) {
      case "create": {
        const [name] = args(1, "NAME --scope worker|api --user USERNAME");
        if (!o.scope) throw new UsageError("--scope is required: worker (queue and worker endpoints) or api (the API, as --user)");
        if (!o.user) throw new UsageError("--user USERNAME is required: the account that owns the key (an api key acts as it)");
        const body = CreateApiKeyBody.safeParse({ name, scope: o.scope });
        if (!body.success) {
          throw new UsageError(body.error.issues.map((i) => `${i.path[0] === "name" ? "NAME" : "--scope"}: ${i.message}`).join("\n"));
        }
        return await withOffline(o, env, out, ({ auth }) => {
          const user = requireUser(auth, o.user!);
          if (user.is_active !== 1) throw new AppError(409, "conflict", `'${user.username}' is deactivated: its keys would not work`);
          const created = createApiKey(auth, body.data, { userId: user.id, actor: CLI_ACTOR });
          if (o.json) {
            out.log(JSON.stringify(created, null, 2));
          } else {
            // The key alone on stdout (KEY=$(agentvine apikey create …)); the rest on stderr.
            out.log(created.key);
            out.error(`created ${created.scope} key '${created.name}' (${created.id}) for '${user.username}': shown this once, stored only as a hash`);
          }
          return 0;
        });
      }
      case "list": {
        args(0, "[--all]");
        return await withOffline(o, env, out, ({ auth }) => {
          const keys = [];
          for (let page = 1; ; page++) {
            const batch = listApiKeys(auth, { page, per_page: 500, include_revoked: o.all });
            keys.push(...batch.items);
            if (keys.length >= batch.total || batch.items.length === 0) break;
          }
          const usernames = new Map(
            auth.db.sqlite
              .query<{ id: string; username: string }, []>("SELECT id, username FROM users")
              .all()
              .map((u) => [u.id, u.username]),
          );
          if (o.json) out.log(JSON.stringify(keys.map((k) => ({ ...k, username: usernames.get(k.user_id) ?? null })), null, 2));
          else if (keys.length === 0) out.log(o.all ? "no API keys" : "no active API keys (--all shows revoked ones)");
          else {
            const at = (s: string | null) => (s ? shortIso(Date.parse(s)) : "never");
            const rows = keys.map((k) => [
              k.id,
              k.name,
              k.scope,
              usernames.get(k.user_id) ?? k.user_id,
              `${k.prefix}…`,
              shortIso(Date.parse(k.created_at)),
              at(k.last_used_at),
              ...(o.all ? [k.revoked_at ? shortIso(Date.parse(k.revoked_at)) : "-"] : []),
            ]);
            for (const line of table(["ID", "NAME", "SCOPE", "USER", "PREFIX", "CREATED", "LAST USED", ...(o.all ? ["REVOKED"] : [])], rows)) out.log(line);
          }
          return 0;
        });
      }
      case "revoke": {
        const [id] = args(1, "ID");
        return await withOffline(o, env, out, ({ auth }) => {
          const row = auth.db.sqlite.query<{ name: string; revoked_at: number | null }, [string]>("SELECT name, revoked_at FROM api_keys WHERE id = ?").get(id!);
          revokeApiKey(auth, id!, CLI_ACTOR);
          out.log(row?.revoked_at ? `key '${row.name}' (${id}) was already revoked` : `revoked key '${row?.name}' (${id})`);
          return 0;
        });
      }
      default:
        throw new UsageError(unknownCommand("apikey", command));
    }
  } catch (err) {
    return offlineExitCode(err, out);
  }
}
