// Test helpers for accounts: register the bootstrap admin, sign in, create users, call the API with a token.
import type { TokenAnswer } from "../src/features/auth/login.ts";
import type { startTestServer } from "./helpers.ts";
import { json, TEST_PASSWORD } from "./helpers.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;


/** Passes the password rules: long, not common. */
export const PASSWORD = TEST_PASSWORD;

export const bearer = (token: string, init: RequestInit = {}): RequestInit => {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return { ...init, headers };
};

export async function expectOk(res: Response, status = 200): Promise<any> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Registers the first account (which becomes the admin) and returns its tokens. */
export async function registerAdmin(server: Server, username = "admin", password = PASSWORD): Promise<TokenAnswer> {
  return expectOk(await server.api("/auth/register", json({ username, password })), 201);
}

export async function login(server: Server, username: string, password = PASSWORD): Promise<TokenAnswer> {
  return expectOk(await server.api("/auth/login", json({ username, password })));
}

/** An admin creates `username` with `role`; then that user signs in. */
export async function userWithRole(server: Server, adminToken: string, username: string, role: "viewer" | "operator" | "admin"): Promise<TokenAnswer> {
  await expectOk(await server.api("/users", bearer(adminToken, json({ username, password: PASSWORD, role }))), 201);
  return login(server, username);
}

/** A JSON request with a method other than POST. */
export const send = (method: string, body?: unknown): RequestInit => ({ method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

/** The error code and message of an error answer. */
export async function errorOf(res: Response): Promise<{ status: number; code: string; message: string; retryAfter: string | null }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, code: body.error.code, message: body.error.message, retryAfter: res.headers.get("retry-after") };
}
