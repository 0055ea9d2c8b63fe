// /api/v1/audit: the audit log, filtered and paginated, for admins. Read-only: no route changes a row.
import { Hono } from "hono";
import { z } from "zod";
import { ACTOR_TYPES } from "../../db/schema.ts";
import { route } from "../../http/openapi.ts";
import { listOf, Pagination } from "../../http/pagination.ts";
import { listAudit } from "./service.ts";

const time = z.iso
  .datetime({ offset: true })
  .transform((s) => Date.parse(s))
  .optional();

export const AuditQuery = z.strictObject({
  ...Pagination,
  actor: z.string().max(200).optional().describe("A user id, an API key id, `system` or `anonymous`"),
  action: z.string().max(100).optional().describe("Exact (`auth.login`) or a prefix ending in `*` (`auth.*`)"),
  resource: z.string().max(300).optional().describe("A resource type (`user`) or `type:id`"),
  since: time.describe("From this time (ISO-8601, inclusive)"),
  until: time.describe("Before this time (ISO-8601)"),
});

export const AuditEventOut = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  actor_type: z.enum(ACTOR_TYPES),
  action: z.string(),
  resource_type: z.string().nullable(),
  resource_id: z.string().nullable(),
  ip: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});

const list = route({
  method: "get",
  path: "/audit",
  access: "admin",
  summary: "The audit log, newest first (admin)",
  description: "Sign-ins (and failures), user, role, key and secret changes, … Entries cannot be edited or deleted through the API.",
  tags: ["audit"],
  query: AuditQuery,
  responses: { 200: listOf(AuditEventOut) },
});

export const auditApi = new Hono().get(list.spec.path, list.query, (c) =>
  c.json(listAudit(c.get("auth"), c.req.valid("query"))),
);
