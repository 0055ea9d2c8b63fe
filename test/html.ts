// Helpers for the HTML route tests: requests through app.request() as a browser or as htmx would send
// them (signed in as the test server's admin), form posts, and reading the HX-Trigger header.
import { createApp } from "../src/app.ts";
import type { RunningServer } from "../src/server.ts";

export interface HtmlResponse {
  status: number;
  headers: Headers;
  text: string;
}

export type UiClient = (path: string, init?: RequestInit & { htmx?: string | true }) => Promise<HtmlResponse>;

/**
 * A client for the app of a test server; `htmx` sends HX-Request (and HX-Target when a string). Requests
 * carry the server's admin token (`server.token`) unless they set their own Authorization.
 */
export function uiClient(server: Pick<RunningServer, "services"> & { token?: string }): UiClient {
  const app = createApp(server.services);
  return async (path, init = {}) => {
    const { htmx, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (server.token && !headers.has("authorization")) headers.set("authorization", `Bearer ${server.token}`);
    if (htmx) {
      headers.set("hx-request", "true");
      if (typeof htmx === "string") headers.set("hx-target", htmx);
    }
    const res = await app.request(path, { ...rest, headers, redirect: "manual" });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
}

/** A urlencoded form post (repeated keys for arrays, like checkboxes). */
export function formPost(fields: Record<string, string | string[]>, extra: RequestInit & { htmx?: string | true } = {}) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
  const headers = new Headers(extra.headers);
  headers.set("content-type", "application/x-www-form-urlencoded");
  return { ...extra, method: "POST", body: body.toString(), headers };
}

/** The events of an HX-Trigger header, parsed. */
export function hxTrigger(res: HtmlResponse): Record<string, any> {
  const raw = res.headers.get("hx-trigger");
  return raw ? (JSON.parse(raw) as Record<string, any>) : {};
}

/** The flash toast a redirect carries to the next page (cookie). */
export function flashOf(res: HtmlResponse): Array<{ level: string; message: string }> {
  const cookie = res.headers.get("set-cookie") ?? "";
  const m = /flash=([^;]+)/.exec(cookie);
  return m ? JSON.parse(Buffer.from(m[1]!, "base64url").toString("utf8")) : [];
}

/** A full page (layout included), not a fragment. */
export const isFullPage = (html: string) => html.startsWith("<!doctype html>") && html.includes('<nav class="flex');

export const HOSTILE = "<script>alert(1)</script>";
export const HOSTILE_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;";
