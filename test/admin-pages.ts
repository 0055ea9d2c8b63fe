// Helpers for the admin pages' tests over real HTTP: a page or an action as a browser or as htmx sends
// it (as the test server's admin unless a token is given), with the toast of its HX-Trigger header read.
import type { TestServer } from "./helpers.ts";

export interface PageAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** HX-Trigger, parsed ({} without one). */
  trigger: Record<string, any>;
  /** The toast of HX-Trigger, if any. */
  toast?: { level: string; message: string };
}

export interface PageRequest {
  /** Send HX-Request (and HX-Target when a string), as htmx does. */
  htmx?: string | true;
  /** POST these fields, urlencoded, as a form does. */
  form?: Record<string, string>;
  /** Someone else's bearer token (an access token of another user). */
  token?: string;
}

export async function visit(server: TestServer, path: string, opts: PageRequest = {}): Promise<PageAnswer> {
  const headers = new Headers();
  if (opts.token) headers.set("authorization", `Bearer ${opts.token}`);
  if (opts.htmx) {
    headers.set("hx-request", "true");
    if (typeof opts.htmx === "string") headers.set("hx-target", opts.htmx);
  }
  const init: RequestInit = { headers, redirect: "manual" };
  if (opts.form) {
    init.method = "POST";
    init.body = new URLSearchParams(opts.form);
  }
  const res = await server.get(path, init);
  const raw = res.headers.get("hx-trigger");
  const trigger = raw ? (JSON.parse(raw) as Record<string, any>) : {};
  return { status: res.status, headers: res.headers, text: await res.text(), trigger, toast: trigger.toast };
}

/** A POST as htmx sends it from a form. */
export const act = (server: TestServer, path: string, form: Record<string, string> = {}, opts: Omit<PageRequest, "form" | "htmx"> = {}) =>
  visit(server, path, { ...opts, form, htmx: true });

/** The flash toast a plain (no-JS) post carries to the page it redirects to. */
export function flashOf(res: PageAnswer): Array<{ level: string; message: string }> {
  const m = /flash=([^;]+)/.exec(res.headers.get("set-cookie") ?? "");
  return m ? JSON.parse(Buffer.from(m[1]!, "base64url").toString("utf8")) : [];
}
