// Users: register (the first becomes admin), create by an admin, list, read, edit (role, deactivate),
// edit oneself (profile, settings, password). Every change is audited in the transaction that makes it.
import type { Role } from "../../db/schema.ts";
import { AppError, conflict, invalid, notFound } from "../../errors.ts";
import { recordAudit, type AuditActor } from "../audit/service.ts";
import type { AuthDeps } from "./auth-services.ts";
import { hashPassword, passwordProblems, verifyPassword } from "./passwords.ts";
import { revokeUserSessions } from "./sessions.ts";

export interface UserRecord {
  id: string;
  username: string;
  email: string | null;
  password_hash: string;
  full_name: string | null;
  role: Role;
  is_active: number;
  is_verified: number;
  settings: string;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
  failed_logins: number;
  locked_until: number | null;
}

export interface UserJson {
  id: string;
  username: string;
  email: string | null;
  full_name: string | null;
  role: Role;
  is_active: boolean;
  is_verified: boolean;
  settings: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function userToJson(u: UserRecord): UserJson {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    full_name: u.full_name,
    role: u.role,
    is_active: u.is_active === 1,
    is_verified: u.is_verified === 1,
    settings: JSON.parse(u.settings) as Record<string, unknown>,
    created_at: iso(u.created_at)!,
    updated_at: iso(u.updated_at)!,
    last_login_at: iso(u.last_login_at),
  };
}

export function getUserRecord(auth: AuthDeps, id: string): UserRecord | null {
  return auth.db.sqlite.query<UserRecord, [string]>("SELECT * FROM users WHERE id = ?").get(id);
}

/** By username or email, both stored lowercased. */
export function findUserByLogin(auth: AuthDeps, login: string): UserRecord | null {
  const name = login.trim().toLowerCase();
  return auth.db.sqlite.query<UserRecord, [string, string]>("SELECT * FROM users WHERE username = ? OR email = ? LIMIT 1").get(name, name);
}

export function getUser(auth: AuthDeps, id: string): UserJson {
  const user = getUserRecord(auth, id);
  if (!user) throw notFound("user", id);
  return userToJson(user);
}

export function countUsers(auth: AuthDeps): number {
  return auth.db.sqlite.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM users").get()!.n;
}

export interface NewUser {
  username: string;
  password: string;
  email?: string | null;
  full_name?: string | null;
}

function checkNewPassword(password: string, username: string, field = "password") {
  const problems = passwordProblems(password, { username, field });
  if (problems.length) throw invalid(`The password is not acceptable: ${problems.map((p) => p.message).join("; ")}`, problems);
}

function insertUser(auth: AuthDeps, input: NewUser, role: Role, passwordHash: string, now: number): UserRecord {
  const username = input.username.toLowerCase();
  const email = input.email?.toLowerCase() ?? null;
  const taken = auth.db.sqlite
    .query<{ username: string; email: string | null }, [string, string | null]>("SELECT username, email FROM users WHERE username = ?1 OR (email IS NOT NULL AND email = ?2) LIMIT 1")
    .get(username, email);
  if (taken) {
    const field = taken.username === username ? "username" : "email";
    throw conflict(`That ${field} is already taken`, [{ field, message: "already taken" }]);
  }
  const id = Bun.randomUUIDv7();
  auth.db.sqlite
    .query(
      `INSERT INTO users (id, username, email, password_hash, full_name, role, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(id, username, email, passwordHash, input.full_name ?? null, role, now, now);
  return getUserRecord(auth, id)!;
}

export const REGISTRATION_CLOSED = "Registration is closed: ask an admin to create your account";

/**
 * Self-service sign-up. The very first account becomes the admin (the bootstrap); after that sign-up is
 * closed unless open registration is configured, and then new accounts are viewers.
 */
export async function registerUser(auth: AuthDeps, input: NewUser, ip: string | null = null): Promise<UserJson> {
  // Cheap refusals first: a closed server should not spend an argon2 hash on every attempt.
  if (!auth.settings.openRegistration && countUsers(auth) > 0) throw new AppError(403, "forbidden", REGISTRATION_CLOSED);
  checkNewPassword(input.password, input.username);
  const hash = await hashPassword(input.password, auth.settings.passwordCost);
  const user = auth.db.sqlite
    .transaction(() => {
      // Decided again inside the write transaction: two first registrations racing cannot both be admin.
      const first = countUsers(auth) === 0;
      if (!first && !auth.settings.openRegistration) throw new AppError(403, "forbidden", REGISTRATION_CLOSED);
      const now = auth.clock();
      const created = insertUser(auth, input, first ? "admin" : "viewer", hash, now);
      recordAudit(auth, {
        actor: { type: "user", id: created.id },
        action: "user.registered",
        resource: { type: "user", id: created.id },
        ip,
        details: { username: created.username, role: created.role, bootstrap: first },
      });
      return created;
    })
    .immediate();
  if (user.email) auth.onEmailSet?.(user.id);
  return userToJson(user);
}

/** An admin creates an account with a role. */
export async function createUser(auth: AuthDeps, input: NewUser & { role: Role }, actor: AuditActor, ip: string | null = null): Promise<UserJson> {
  checkNewPassword(input.password, input.username);
  const hash = await hashPassword(input.password, auth.settings.passwordCost);
  const user = auth.db.sqlite
    .transaction(() => {
      const created = insertUser(auth, input, input.role, hash, auth.clock());
      recordAudit(auth, { actor, action: "user.created", resource: { type: "user", id: created.id }, ip, details: { username: created.username, role: created.role } });
      return created;
    })
    .immediate();
  if (user.email) auth.onEmailSet?.(user.id);
  return userToJson(user);
}

export function listUsers(auth: AuthDeps, q: { page: number; per_page: number; role?: Role; active?: boolean }) {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (q.role) {
    where.push("role = ?");
    params.push(q.role);
  }
  if (q.active !== undefined) {
    where.push("is_active = ?");
    params.push(q.active ? 1 : 0);
  }
  const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
  const rows = auth.db.sqlite
    .query<UserRecord, Array<string | number>>(`SELECT * FROM users ${clause} ORDER BY username LIMIT ? OFFSET ?`)
    .all(...params, q.per_page, (q.page - 1) * q.per_page);
  const total = auth.db.sqlite.query<{ n: number }, Array<string | number>>(`SELECT COUNT(*) AS n FROM users ${clause}`).get(...params)!.n;
  return { items: rows.map(userToJson), total, page: q.page, per_page: q.per_page };
}

export interface AdminUserPatch {
  role?: Role;
  is_active?: boolean;
  is_verified?: boolean;
  full_name?: string | null;
  email?: string | null;
}

function activeAdmins(auth: AuthDeps): number {
  return auth.db.sqlite.query<{ n: number }, []>("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND is_active = 1").get()!.n;
}

function checkEmailFree(auth: AuthDeps, email: string, userId: string) {
  const other = auth.db.sqlite.query<{ id: string }, [string, string]>("SELECT id FROM users WHERE email = ? AND id <> ?").get(email, userId);
  if (other) throw conflict("That email is already taken", [{ field: "email", message: "already taken" }]);
}

/**
 * An admin changes a user's role, active flag or profile. Deactivating ends every session of the user;
 * both that and a role change apply to their very next request (the principal cache is cleared).
 */
export function updateUser(auth: AuthDeps, id: string, patch: AdminUserPatch, actor: AuditActor, ip: string | null = null): UserJson {
  const { sqlite } = auth.db;
  const user = sqlite
    .transaction(() => {
      const current = getUserRecord(auth, id);
      if (!current) throw notFound("user", id);
      const demoted = patch.role !== undefined && patch.role !== "admin";
      const deactivated = patch.is_active === false;
      if (current.role === "admin" && current.is_active === 1 && (demoted || deactivated) && activeAdmins(auth) === 1) {
        throw conflict("This is the only active admin: make another user admin first", [
          { field: demoted ? "role" : "is_active", message: "would leave the server without an active admin" },
        ]);
      }
      const email = patch.email === undefined ? undefined : (patch.email?.toLowerCase() ?? null);
      if (email) checkEmailFree(auth, email, id);
      const now = auth.clock();
      sqlite
        .query(
          `UPDATE users SET role = ?, is_active = ?, is_verified = ?, full_name = ?, email = ?, updated_at = ? WHERE id = ?`,
        )
        .run(
          patch.role ?? current.role,
          patch.is_active === undefined ? current.is_active : patch.is_active ? 1 : 0,
          patch.is_verified === undefined ? current.is_verified : patch.is_verified ? 1 : 0,
          patch.full_name === undefined ? current.full_name : patch.full_name,
          email === undefined ? current.email : email,
          now,
          id,
        );
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      const after = getUserRecord(auth, id)!;
      for (const key of ["role", "is_active", "is_verified", "full_name", "email"] as const) {
        if (after[key] !== current[key]) changes[key] = { from: current[key], to: after[key] };
      }
      if (deactivated && current.is_active === 1) revokeUserSessions(auth, id);
      recordAudit(auth, {
        actor,
        action: deactivated && current.is_active === 1 ? "user.deactivated" : changes.role ? "user.role_changed" : "user.updated",
        resource: { type: "user", id },
        ip,
        details: { username: current.username, changes },
      });
      return after;
    })
    .immediate();
  auth.principals.clear();
  if (patch.email && user.is_verified !== 1) auth.onEmailSet?.(id);
  return userToJson(user);
}

export interface SelfPatch {
  full_name?: string | null;
  email?: string | null;
  /** Merged into the stored settings; a key set to null is removed. */
  settings?: Record<string, unknown>;
  current_password?: string;
  new_password?: string;
}

/**
 * A user edits their own profile. A new password needs the current one, and ends every other session
 * of the user (whoever knew the old password is signed out); the session making the change stays.
 */
export async function updateSelf(auth: AuthDeps, id: string, patch: SelfPatch, sessionId: string | undefined, ip: string | null = null): Promise<UserJson> {
  const current = getUserRecord(auth, id);
  if (!current) throw notFound("user", id);
  let newHash: string | null = null;
  if (patch.new_password !== undefined) {
    if (!patch.current_password) {
      throw invalid("Changing the password needs the current password", [{ field: "current_password", message: "required to set new_password" }]);
    }
    if (!(await verifyPassword(patch.current_password, current.password_hash))) {
      throw invalid("The current password is not correct", [{ field: "current_password", message: "does not match" }]);
    }
    checkNewPassword(patch.new_password, current.username, "new_password");
    newHash = await hashPassword(patch.new_password, auth.settings.passwordCost);
  }
  const { sqlite } = auth.db;
  const user = sqlite
    .transaction(() => {
      const row = getUserRecord(auth, id);
      if (!row) throw notFound("user", id);
      const email = patch.email === undefined ? row.email : (patch.email?.toLowerCase() ?? null);
      if (email && email !== row.email) checkEmailFree(auth, email, id);
      let settings = JSON.parse(row.settings) as Record<string, unknown>;
      if (patch.settings) {
        settings = { ...settings, ...patch.settings };
        for (const [k, v] of Object.entries(patch.settings)) if (v === null) delete settings[k];
      }
      sqlite
        // A new address is not verified until its owner follows the link sent to it.
        .query("UPDATE users SET full_name = ?, email = ?, is_verified = CASE WHEN email IS ? THEN is_verified ELSE 0 END, settings = ?, password_hash = COALESCE(?, password_hash), updated_at = ? WHERE id = ?")
        .run(patch.full_name === undefined ? row.full_name : patch.full_name, email, email, JSON.stringify(settings), newHash, auth.clock(), id);
      if (newHash) {
        const ended = revokeUserSessions(auth, id, sessionId);
        recordAudit(auth, { actor: { type: "user", id }, action: "user.password_changed", resource: { type: "user", id }, ip, details: { other_sessions_ended: ended } });
      } else if (patch.email !== undefined && email !== row.email) {
        recordAudit(auth, { actor: { type: "user", id }, action: "user.updated", resource: { type: "user", id }, ip, details: { changes: { email: { from: row.email, to: email } } } });
      }
      return getUserRecord(auth, id)!;
    })
    .immediate();
  if (user.email && user.email !== current.email) auth.onEmailSet?.(id);
  return userToJson(user);
}
