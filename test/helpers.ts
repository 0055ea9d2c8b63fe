// Test helpers: a fresh data dir and database per test, a real server on a free loopback port, waitFor.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Db } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import type { EngineDeps } from "../src/engine/engine-deps.ts";
import { EventBus, type EventMap, type EventName } from "../src/events/bus.ts";
import { embeddedServerOptions, startServer, type RunningServer, type StartOptions } from "../src/server.ts";
import { SYSTEM_ACTOR } from "../src/features/audit/service.ts";
import { createApiKey } from "../src/features/auth/api-keys.ts";
import { createUser, findUserByLogin } from "../src/features/auth/users.ts";
import type { AppServices } from "../src/app-context.ts";
import { registerTestTaskTypes } from "./fixtures/test-task-types.ts";

export const TEST_THREAD_URL = new URL("./fixtures/test-thread.ts", import.meta.url);

const cleanups: Array<() => void | Promise<void>> = [];

/** Runs registered cleanups; call from afterEach. */
export async function cleanup() {
  while (cleanups.length) await cleanups.pop()!();
}

let shared: string | undefined;

/**
 * One directory per test process that shell tasks may write to (the test servers give it to the sandbox as
 * a writable path): gates and marks a test shares with its tasks live here. Task commands run in bubblewrap
 * with a private /tmp, so a file a test makes elsewhere under /tmp is not the one the task sees.
 */
export function sharedTestDir(): string {
  if (!shared) {
    shared = mkdtempSync(join(tmpdir(), "agentvine-shared-"));
    const dir = shared;
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return shared;
}

/** A fresh directory inside sharedTestDir(): tasks of a test server can write there. */
export function sharedDir(prefix = "dir-"): string {
  const dir = mkdtempSync(join(sharedTestDir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function tempDir(prefix = "agentvine-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A migrated SQLite file in a temp dir, with a bus: what the engine functions need. */
export function freshDeps(): EngineDeps & { dir: string } {
  const dir = tempDir();
  const db: Db = openDatabase(join(dir, "agentvine.db"));
  migrate(db);
  cleanups.push(() => db.close());
  return { db, bus: new EventBus(), dir };
}

export type TestServer = RunningServer & {
  /** An `api`-scoped key of the admin the server was started with (absent with `admin: false`). */
  token: string;
  /** The JSON API (`/api/v1` + path), as that admin unless the request sets its own Authorization. */
  api: (path: string, init?: RequestInit) => Promise<Response>;
  /** Any path on the server (pages, /metrics), as that admin unless the request sets its own Authorization. */
  get: (path: string, init?: RequestInit) => Promise<Response>;
  /** Any path, exactly as given (no credentials added): over the socket, or through the app in process. */
  request: (path: string, init?: RequestInit) => Promise<Response>;
};

/** The password of every account the test helpers create: passes the rules (long, not common). */
export const TEST_PASSWORD = "violet tractor umbrella 42";

/**
 * The app in process, for tests about routes: no socket and no task threads (requests go through
 * app.fetch, as Hono's app.request() does), otherwise the server `serve` starts — database, auth,
 * secrets, the engine. Use startTestServer where a test needs tasks to run or a real socket.
 */
export function startTestApp(overrides: Partial<StartOptions> & { admin?: boolean } = {}): Promise<TestServer> {
  return startTestServer({ workers: 0, listen: false, ...overrides });
}

/**
 * A real server on 127.0.0.1 with a free port, a temp data dir and the test task types, with an admin
 * account and an API key of it (`admin: false` leaves the server without accounts: the first one to
 * register becomes the admin).
 */
export async function startTestServer(overrides: Partial<StartOptions> & { admin?: boolean } = {}): Promise<TestServer> {
  registerTestTaskTypes();
  const { admin = true, ...options } = overrides;
  const dataDir = options.dataDir ?? tempDir();
  const server = await startServer(
    embeddedServerOptions(dataDir, {
      workers: 2,
      shutdownGraceSeconds: 5,
      threadUrl: TEST_THREAD_URL,
      // A fresh server's ready-made plans would be in every plan list; their own test turns them on.
      builtinPlans: false,
      sandboxWritable: [sharedTestDir()],
      // Tests talk to servers on loopback; test/ssrf.test.ts starts its servers without this.
      httpAllow: ["127.0.0.1", "::1", "localhost"],
      ...options,
    }),
  );
  let stopped = false;
  const stop = server.stop;
  server.stop = (grace?: number) => {
    stopped = true;
    return stop(grace);
  };
  cleanups.push(async () => {
    if (!stopped) await stop(0);
  });
  const token = admin ? await adminKey(server.services) : "";
  const withToken = (init: RequestInit) => {
    const headers = new Headers(init.headers);
    if (token && !headers.has("authorization")) headers.set("authorization", `Bearer ${token}`);
    return headers;
  };
  const api = (path: string, init: RequestInit = {}) => {
    const headers = withToken(init);
    if (init.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
    return server.fetch(new Request(`${server.url}/api/v1${path}`, { ...init, headers }));
  };
  const get = (path: string, init: RequestInit = {}) => server.fetch(new Request(`${server.url}${path}`, { ...init, headers: withToken(init) }));
  const request = (path: string, init: RequestInit = {}) => server.fetch(new Request(`${server.url}${path}`, init));
  return Object.assign(server, { api, get, request, token });
}

/** Creates the `admin` account (once per data dir) and a fresh `api` key acting as it. */
async function adminKey(services: AppServices): Promise<string> {
  const auth = services.auth;
  const existing = findUserByLogin(auth, "admin");
  const user = existing ?? (await createUser(auth, { username: "admin", password: TEST_PASSWORD, role: "admin" }, SYSTEM_ACTOR));
  return createApiKey(auth, { name: "tests", scope: "api" }, { userId: user.id, actor: SYSTEM_ACTOR }).key;
}

/** Resolves with the first event matching `predicate`; fails the test after `timeoutMs`. */
export function waitFor<K extends EventName>(bus: EventBus, event: K, predicate: (p: EventMap[K]) => boolean = () => true, timeoutMs = 20_000) {
  return bus.once(event, predicate, timeoutMs);
}

/** Polls `check` after every event of the given kinds until it returns a value (bounded by `timeoutMs`). */
export async function until<T>(bus: EventBus, events: EventName[], check: () => T | undefined | null | false, timeoutMs = 20_000): Promise<T> {
  const first = check();
  if (first) return first;
  return new Promise<T>((resolve, reject) => {
    const offs: Array<() => void> = [];
    const timer = setTimeout(() => {
      offs.forEach((o) => o());
      reject(new Error(`condition not met within ${timeoutMs} ms`));
    }, timeoutMs);
    const test = () => {
      const v = check();
      if (!v) return;
      clearTimeout(timer);
      offs.forEach((o) => o());
      resolve(v);
    };
    for (const e of events) offs.push(bus.on(e, () => queueMicrotask(test)));
  });
}

export const json = (body: unknown): RequestInit => ({ method: "POST", body: JSON.stringify(body) });
