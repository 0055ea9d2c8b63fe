// The zod schemas of the auth, users and API-key endpoints: they validate requests and feed the OpenAPI document.
import { z } from "zod";
import { WorkerGrantsFields, WorkerGrantsOut } from "./key-grants.ts";
import { API_KEY_SCOPES, ROLES } from "../../db/schema.ts";
import { Pagination } from "../../http/pagination.ts";
import { MAX_PASSWORD_LENGTH } from "./passwords.ts";

const username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._-]{2,63}$/, "3 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit");
// Rules (length, common passwords) are checked by the service, which names every problem at once.
const password = z.string().max(MAX_PASSWORD_LENGTH, `at most ${MAX_PASSWORD_LENGTH} characters`);
const email = z.email().max(254);
const fullName = z.string().trim().max(200);

export const RegisterBody = z.strictObject({
  username,
  password: password.describe("At least 12 characters, not a common password"),
  email: email.nullish(),
  full_name: fullName.nullish(),
});

export const LoginBody = z.strictObject({
  username: z.string().min(1, "required").max(254).describe("Username or email"),
  password: z.string().min(1, "required").max(MAX_PASSWORD_LENGTH),
});

export const RefreshBody = z.strictObject({ refresh_token: z.string().min(1).max(200) });

export const LogoutBody = z.strictObject({
  refresh_token: z.string().min(1).max(200).optional().describe("The session to end; by default the one of the access token or cookie"),
  everywhere: z.boolean().default(false).describe("End every session of the user (sign out everywhere)"),
});

export const ResetPasswordBody = z.strictObject({
  token: z.string().min(1, "required").max(200).describe("The token of the reset link (from `agentvine user reset-password`)"),
  new_password: password.describe("At least 12 characters, not a common password"),
});

export const UserOut = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string().nullable(),
  full_name: z.string().nullable(),
  role: z.enum(ROLES),
  is_active: z.boolean(),
  is_verified: z.boolean(),
  settings: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  updated_at: z.string(),
  last_login_at: z.string().nullable(),
});

export const TokenOut = z.object({
  access_token: z.string(),
  refresh_token: z.string(),
  token_type: z.literal("bearer"),
  expires_in: z.number().describe("Seconds the access token is valid for"),
  refresh_expires_at: z.string(),
  user: UserOut,
});

export const UpdateMeBody = z
  .strictObject({
    full_name: fullName.nullable(),
    email: email.nullable(),
    settings: z
      .record(z.string().max(100), z.unknown())
      .refine((s) => Object.keys(s).length <= 100, "at most 100 settings")
      .describe("Merged into the stored settings; a key set to null is removed"),
    current_password: z.string().max(MAX_PASSWORD_LENGTH),
    new_password: password,
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, "nothing to update: send at least one field");

export const CreateUserBody = z.strictObject({
  username,
  password,
  role: z.enum(ROLES),
  email: email.nullish(),
  full_name: fullName.nullish(),
});

export const UpdateUserBody = z
  .strictObject({
    role: z.enum(ROLES),
    is_active: z.boolean().describe("false deactivates: every session and token of the user stops working at once"),
    is_verified: z.boolean(),
    full_name: fullName.nullable(),
    email: email.nullable(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, "nothing to update: send at least one field");

const bool = z.enum(["true", "false"]).transform((v) => v === "true");

export const ListUsersQuery = z.strictObject({ ...Pagination, role: z.enum(ROLES).optional(), active: bool.optional() });

export const CreateApiKeyBody = z.strictObject({
  name: z.string().trim().min(1, "must not be empty").max(100),
  scope: z.enum(API_KEY_SCOPES).describe("`worker`: the queue and worker endpoints; `api`: the JSON API, acting as the creating user"),
  ...WorkerGrantsFields,
});

export const ApiKeyOut = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string().describe("The first characters of the key, to recognise it"),
  scope: z.enum(API_KEY_SCOPES),
  user_id: z.string(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  grants: WorkerGrantsOut.describe("Worker keys: the capabilities its workers may declare and the tasks they may hold at once, all together"),
});

export const CreatedApiKeyOut = ApiKeyOut.extend({ key: z.string().describe("The key itself: shown this once, stored only as a hash") });

export const ListApiKeysQuery = z.strictObject({ ...Pagination, include_revoked: bool.optional() });
