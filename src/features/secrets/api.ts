// /api/v1/secrets: admins store, replace and delete secrets; values go in and never come back out.
import { Hono } from "hono";
import { z } from "zod";
import { route } from "../../http/openapi.ts";
import { actorOf } from "../audit/service.ts";
import { clientMeta } from "../auth/request.ts";
import { SECRET_NAME } from "./store.ts";
import { SecretAllowSchema } from "./allow-list.ts";

const tags = ["secrets"];

const value = z.string().max(64 * 1024).describe("Stored encrypted (AES-256-GCM); never answered back");
const allow = SecretAllowSchema.describe(
  "Who may use it: roles whose tasks may reference it, task types (null = any), for http tasks the destination hosts (null = any), and whether remote workers may be sent it. Default: admin's tasks only, never to remote workers",
);
export const CreateSecretBody = z.strictObject({
  name: z.string().regex(SECRET_NAME, "letters, digits and _, not starting with a digit (at most 128)").describe("Referenced in task params as {{secrets.NAME}}"),
  value,
  allow: allow.optional(),
});
export const UpdateSecretBody = z
  .strictObject({ value: value.optional(), allow: allow.optional() })
  .refine((b) => b.value !== undefined || b.allow !== undefined, { message: "give a new value, a new allow-list, or both", path: ["value"] });
export const SecretOut = z.object({
  name: z.string(),
  allow: z.object({ roles: z.array(z.string()), task_types: z.array(z.string()).nullable(), hosts: z.array(z.string()).nullable(), remote_workers: z.boolean() }),
  created_at: z.string(),
  updated_at: z.string(),
});

const list = route({
  method: "get",
  path: "/secrets",
  access: "admin",
  summary: "List secret names (admin)",
  tags,
  responses: { 200: z.object({ items: z.array(SecretOut), total: z.number() }) },
});
const create = route({
  method: "post",
  path: "/secrets",
  access: "admin",
  summary: "Store a secret (admin)",
  description: "Tasks reference it in params as `{{secrets.NAME}}`; its value is masked as *** in logs and results.",
  tags,
  body: CreateSecretBody,
  responses: { 201: SecretOut },
});
const update = route({ method: "put", path: "/secrets/:name", access: "admin", summary: "Replace a secret's value and/or its allow-list (admin)", tags, body: UpdateSecretBody, responses: { 200: SecretOut } });
const del = route({ method: "delete", path: "/secrets/:name", access: "admin", summary: "Delete a secret (admin)", tags, responses: { 204: "Deleted" } });

export const secretsApi = new Hono()
  .get(list.spec.path, (c) => {
    const items = c.get("secrets").list();
    return c.json({ items, total: items.length });
  })
  .post(create.spec.path, ...create.json, (c) => {
    const { name, value, allow } = c.req.valid("json");
    return c.json(c.get("secrets").create(name, value, actorOf(c.get("principal")), clientMeta(c).ip, allow), 201);
  })
  .put(update.spec.path, ...update.json, (c) => c.json(c.get("secrets").update(c.req.param("name"), c.req.valid("json"), actorOf(c.get("principal")), clientMeta(c).ip)))
  .delete(del.spec.path, (c) => {
    c.get("secrets").delete(c.req.param("name"), actorOf(c.get("principal")), clientMeta(c).ip);
    return c.body(null, 204);
  });
