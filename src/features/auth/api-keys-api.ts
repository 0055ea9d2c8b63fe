// /api/v1/api-keys: create (the key is answered once), list with last use, revoke — admins only.
import { Hono } from "hono";
import { route } from "../../http/openapi.ts";
import { listOf } from "../../http/pagination.ts";
import { actorOf } from "../audit/service.ts";
import { clientMeta } from "./request.ts";
import { createApiKey, listApiKeys, revokeApiKey } from "./api-keys.ts";
import { principalOf } from "./middleware.ts";
import { ApiKeyOut, CreateApiKeyBody, CreatedApiKeyOut, ListApiKeysQuery } from "./schemas.ts";

const tags = ["api keys"];

const create = route({
  method: "post",
  path: "/api-keys",
  access: "admin",
  summary: "Create an API key (admin)",
  description:
    "Answers the key itself in `key`, this once: only its SHA-256 is stored. Use it as `Authorization: Bearer <key>`. A `worker` key serves the queue and worker endpoints; an `api` key acts as the admin who created it.",
  tags,
  body: CreateApiKeyBody,
  responses: { 201: CreatedApiKeyOut },
});
const list = route({ method: "get", path: "/api-keys", access: "admin", summary: "List API keys with their last use (admin)", tags, query: ListApiKeysQuery, responses: { 200: listOf(ApiKeyOut) } });
const del = route({ method: "delete", path: "/api-keys/:id", access: "admin", summary: "Revoke an API key (admin)", tags, responses: { 204: "Revoked" } });

export const apiKeysApi = new Hono()
  .post(create.spec.path, ...create.json, (c) => {
    const principal = principalOf(c);
    const key = createApiKey(c.get("auth"), c.req.valid("json"), { userId: principal.userId, actor: actorOf(principal) }, clientMeta(c).ip);
    return c.json(key, 201, { "Cache-Control": "no-store" });
  })
  .get(list.spec.path, list.query, (c) => c.json(listApiKeys(c.get("auth"), c.req.valid("query"))))
  .delete(del.spec.path, (c) => {
    revokeApiKey(c.get("auth"), c.req.param("id"), actorOf(c.get("principal")), clientMeta(c).ip);
    return c.body(null, 204);
  });
