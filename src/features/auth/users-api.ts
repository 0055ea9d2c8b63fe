// /api/v1/users: your own profile (any signed-in user) and user management (admins).
import { Hono } from "hono";
import { route } from "../../http/openapi.ts";
import { listOf } from "../../http/pagination.ts";
import { actorOf } from "../audit/service.ts";
import { clientMeta } from "./request.ts";
import { principalOf } from "./middleware.ts";
import { CreateUserBody, ListUsersQuery, UpdateMeBody, UpdateUserBody, UserOut } from "./schemas.ts";
import { createUser, getUser, listUsers, updateSelf, updateUser } from "./users.ts";

const tags = ["users"];

const me = route({ method: "get", path: "/users/me", access: "viewer", summary: "The signed-in user", tags, responses: { 200: UserOut } });
const patchMe = route({
  method: "patch",
  path: "/users/me",
  access: "viewer",
  summary: "Edit your profile, settings or password",
  description: "A new password needs `current_password` and ends every other session of the user.",
  tags,
  body: UpdateMeBody,
  responses: { 200: UserOut },
});
const create = route({ method: "post", path: "/users", access: "admin", summary: "Create a user with a role (admin)", tags, body: CreateUserBody, responses: { 201: UserOut } });
const list = route({ method: "get", path: "/users", access: "admin", summary: "List users (admin)", tags, query: ListUsersQuery, responses: { 200: listOf(UserOut) } });
const get = route({ method: "get", path: "/users/:id", access: "admin", summary: "Get a user (admin)", tags, responses: { 200: UserOut } });
const patch = route({
  method: "patch",
  path: "/users/:id",
  access: "admin",
  summary: "Change a user's role, deactivate or edit them (admin)",
  description: "Deactivating ends the user's sessions; their tokens and API keys stop working with the next request. The last active admin cannot be demoted or deactivated (409).",
  tags,
  body: UpdateUserBody,
  responses: { 200: UserOut },
});

export const usersApi = new Hono()
  .get(me.spec.path, (c) => c.json(getUser(c.get("auth"), principalOf(c).userId)))
  .patch(patchMe.spec.path, ...patchMe.json, async (c) => {
    const principal = principalOf(c);
    return c.json(await updateSelf(c.get("auth"), principal.userId, c.req.valid("json"), principal.sessionId, clientMeta(c).ip));
  })
  .post(create.spec.path, ...create.json, async (c) => {
    const user = await createUser(c.get("auth"), c.req.valid("json"), actorOf(c.get("principal")), clientMeta(c).ip);
    return c.json(user, 201, { Location: `/api/v1/users/${user.id}` });
  })
  .get(list.spec.path, list.query, (c) => c.json(listUsers(c.get("auth"), c.req.valid("query"))))
  .get(get.spec.path, (c) => c.json(getUser(c.get("auth"), c.req.param("id"))))
  .patch(patch.spec.path, ...patch.json, (c) =>
    c.json(updateUser(c.get("auth"), c.req.param("id"), c.req.valid("json"), actorOf(c.get("principal")), clientMeta(c).ip)),
  );
