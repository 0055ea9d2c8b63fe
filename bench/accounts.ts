// The API needs credentials: the benchmarks make an admin and an `api` key of it, as the test helpers
// do (createUser + createApiKey), and send `Authorization: Bearer <key>`. A key is what scripts and
// the CLI use; after its first use the server holds it in its principal cache.
import { CLI_ACTOR, openOffline } from "../src/cli/offline.ts";
import { createApiKey } from "../src/features/auth/api-keys.ts";
import type { AuthDeps } from "../src/features/auth/auth-services.ts";
import { createUser, findUserByLogin } from "../src/features/auth/users.ts";

export const BENCH_PASSWORD = "violet tractor umbrella 42";

/** An `api` key of the admin `admin` (created on first use) on a server's auth services. */
export async function adminKey(auth: AuthDeps, name = "bench"): Promise<string> {
  const user = findUserByLogin(auth, "admin") ?? (await createUser(auth, { username: "admin", password: BENCH_PASSWORD, role: "admin" }, CLI_ACTOR));
  return createApiKey(auth, { name, scope: "api" }, { userId: user.id, actor: CLI_ACTOR }).key;
}

/**
 * The same on a data dir, for a server that runs as its own process: what `agentvine user create admin
 * --admin` and `agentvine apikey create` do (safe before or while the server runs on it).
 */
export async function adminKeyOn(dataDir: string, name = "bench"): Promise<string> {
  const offline = await openOffline(dataDir, {});
  try {
    return await adminKey(offline.auth, name);
  } finally {
    offline.close();
  }
}

/** Headers of a request as that key. */
export const bearer = (key: string, headers: Record<string, string> = {}): Record<string, string> => ({ ...headers, authorization: `Bearer ${key}` });
