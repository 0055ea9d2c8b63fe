// /api/v1: my notifications (in the app) and my notification preferences — which events reach me and how.
import { Hono } from "hono";
import { z } from "zod";
import { route } from "../../http/openapi.ts";
import { Pagination } from "../../http/pagination.ts";
import { principalOf } from "../auth/middleware.ts";
import { actingOf } from "../auth/request.ts";
import { EVENTS, PreferencesBody, PreferencesOut, preferencesOf, savePreferences } from "./preferences.ts";
import { listNotifications, markRead } from "./notifier.ts";

const tags = ["notifications"];
const NotificationOut = z.object({ id: z.string(), kind: z.enum(EVENTS), title: z.string(), body: z.string().nullable(), url: z.string().nullable(), created_at: z.string(), read_at: z.string().nullable() });

const list = route({
  method: "get",
  path: "/notifications",
  access: "viewer",
  summary: "My in-app notifications, newest first",
  tags,
  query: z.strictObject({ ...Pagination, unread: z.enum(["true", "false"]).optional() }),
  responses: { 200: z.object({ items: z.array(NotificationOut), total: z.number(), page: z.number(), per_page: z.number(), unread: z.number() }) },
});
const read = route({
  method: "post",
  path: "/notifications/read",
  access: "viewer",
  summary: "Mark my notifications read (these ids, or all)",
  tags,
  body: z.strictObject({ ids: z.array(z.string().max(100)).max(1000).optional().describe("Leave out to mark all read") }),
  responses: { 200: z.object({ marked: z.number() }) },
});
const getPrefs = route({ method: "get", path: "/users/me/notifications", access: "viewer", summary: "My notification preferences", tags, responses: { 200: PreferencesOut } });
const putPrefs = route({
  method: "put",
  path: "/users/me/notifications",
  access: "viewer",
  summary: "Change my notification preferences",
  description: "Per event (`question`, `task_failed`, `alert`) the channels `in_app`, `email` (to a verified address only) and `webhook` (needs `webhook_url`). Fields left out keep their value.",
  tags,
  body: PreferencesBody,
  responses: { 200: PreferencesOut },
});

const prefDeps = (c: { get: (k: "deps" | "secrets") => any }) => ({ db: c.get("deps").db, secrets: c.get("secrets") });

export const notificationsApi = new Hono()
  .get(list.spec.path, list.query, (c) => {
    const q = c.req.valid("query");
    return c.json(listNotifications(c.get("deps").db, principalOf(c).userId, { page: q.page, per_page: q.per_page, unread: q.unread === "true" }));
  })
  .post(read.spec.path, ...read.json, (c) => c.json({ marked: markRead(c.get("deps").db, principalOf(c).userId, c.req.valid("json").ids ?? null, Date.now()) }))
  .get(getPrefs.spec.path, (c) => c.json(preferencesOf(prefDeps(c), principalOf(c).userId)))
  .put(putPrefs.spec.path, ...putPrefs.json, (c) => c.json(savePreferences(prefDeps(c), principalOf(c).userId, c.req.valid("json"), actingOf(c))));
