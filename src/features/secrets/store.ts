// Secrets at rest: name → value, AES-256-GCM under a key from config or the data dir, each with an
// allow-list saying which tasks may use it; `{{secrets.NAME}}` resolved in task params at run time, and
// every known value (in its common encodings) masked as *** in text and JSON — whole occurrences only.
import { createCipheriv, createDecipheriv } from "node:crypto";
import { join } from "node:path";
import type { Db } from "../../db/client.ts";
import type { Role } from "../../db/schema.ts";
import { AppError, conflict, invalid, notFound, type ErrorDetail } from "../../errors.ts";
import { logger } from "../../log.ts";
import { FormMatcher, MIN_SECRET_LENGTH, secretForms } from "../../masking/forms.ts";
import { recordAudit, type AuditActor } from "../audit/service.ts";
import { loadOrCreateKeyFile } from "../../data-dir/key-files.ts";
import { defaultAllowFor, httpHost, parseAllow, refusal, type SecretAllow } from "./allow-list.ts";

const log = logger("secrets");

export const SECRETS_KEY_FILE = "secrets.key";
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export { MIN_SECRET_LENGTH };
export const MASK = "***";

const TEMPLATE = /\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

interface SecretRow {
  name: string;
  ciphertext: string;
  iv: string;
  tag: string;
  allow: string | null;
  created_at: number;
  updated_at: number;
}

export interface SecretJson {
  name: string;
  allow: SecretAllow;
  created_at: string;
  updated_at: string;
}

const toJson = (r: { name: string; allow: string | null; created_at: number; updated_at: number }): SecretJson => ({
  name: r.name,
  allow: parseAllow(r.allow, r.name),
  created_at: new Date(r.created_at).toISOString(),
  updated_at: new Date(r.updated_at).toISOString(),
});

/** What a run needs: the params with values filled in, and those values (task threads never cut text inside one). */
export interface ResolvedParams<T> {
  params: T;
  values: string[];
}

export class SecretStore {
  /** Decrypted values, by name: what templates resolve to and what the masker hides. */
  #values = new Map<string, string>();
  #allow = new Map<string, SecretAllow>();
  #unreadable = new Set<string>();
  #masker = new FormMatcher([]);

  constructor(
    private readonly db: Db,
    private readonly key: Uint8Array,
    private readonly clock: () => number = Date.now,
  ) {
    this.#load();
  }

  /** The key from AGENTVINE_SECRETS_KEY, or the one in the data dir (created on first start, mode 0600). */
  static open(options: { db: Db; dataDir: string; key?: Uint8Array; clock?: () => number }): SecretStore {
    return new SecretStore(options.db, options.key ?? loadOrCreateKeyFile(join(options.dataDir, SECRETS_KEY_FILE), 32), options.clock);
  }

  #encrypt(name: string, value: string) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    // The name is authenticated too: a ciphertext copied onto another row does not decrypt.
    cipher.setAAD(Buffer.from(name));
    const ciphertext = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
    return { ciphertext: ciphertext.toString("base64"), iv: Buffer.from(iv).toString("base64"), tag: cipher.getAuthTag().toString("base64") };
  }

  #decrypt(row: SecretRow): string {
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(row.iv, "base64"));
    decipher.setAAD(Buffer.from(row.name));
    decipher.setAuthTag(Buffer.from(row.tag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(row.ciphertext, "base64")), decipher.final()]).toString("utf8");
  }

  #load() {
    for (const row of this.db.sqlite.query<SecretRow, []>("SELECT * FROM secrets").all()) {
      this.#allow.set(row.name, parseAllow(row.allow, row.name));
      try {
        this.#values.set(row.name, this.#decrypt(row));
      } catch {
        this.#unreadable.add(row.name);
      }
    }
    if (this.#unreadable.size) {
      log.error(`cannot decrypt ${this.#unreadable.size} secret(s) (${[...this.#unreadable].join(", ")}): the secrets key is not the one they were stored with`);
    }
    this.#rebuildMasker();
  }

  /**
   * One matcher over every value ever known to this process (deleted and replaced ones too), rebuilt when
   * secrets change, so masking a line costs one scan: each value and the forms it is commonly printed in
   * (masking/forms.ts). Only whole occurrences are masked: a string that merely starts or ends like a
   * value is left alone, so masking tells a prober nothing about a value they have not guessed whole.
   */
  #rebuildMasker() {
    this.#masker = new FormMatcher([...this.#values.values()].flatMap(secretForms));
  }

  #check(name: string, value: string) {
    if (!SECRET_NAME.test(name)) throw invalid(`Invalid secret name '${name}'`, [{ field: "name", message: "letters, digits and _, not starting with a digit (at most 128)" }]);
    // Counted without surrounding whitespace: a value of four spaces would mask every indented line.
    if (value.trim().length < MIN_SECRET_LENGTH) {
      throw invalid(`A secret value needs at least ${MIN_SECRET_LENGTH} characters`, [{ field: "value", message: `at least ${MIN_SECRET_LENGTH} characters, so masking it cannot garble ordinary log text` }]);
    }
  }

  list(): SecretJson[] {
    return this.db.sqlite.query<SecretRow, []>("SELECT name, allow, created_at, updated_at FROM secrets ORDER BY name").all().map(toJson);
  }

  /** Stores a new secret (allow-list: as given, else the default — admins' tasks only); 409 when the name exists. */
  create(name: string, value: string, actor: AuditActor, ip: string | null = null, allow?: SecretAllow): SecretJson {
    this.#check(name, value);
    const now = this.clock();
    const rules = allow ?? defaultAllowFor(name);
    const { ciphertext, iv, tag } = this.#encrypt(name, value);
    this.db.sqlite
      .transaction(() => {
        if (this.db.sqlite.query("SELECT 1 FROM secrets WHERE name = ?").get(name)) throw conflict(`A secret named '${name}' exists: PUT /api/v1/secrets/${name} replaces its value`);
        this.db.sqlite
          .query("INSERT INTO secrets (name, ciphertext, iv, tag, allow, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
          .run(name, ciphertext, iv, tag, JSON.stringify(rules), now, now);
        recordAudit({ db: this.db, clock: this.clock }, { actor, action: "secret.created", resource: { type: "secret", id: name }, ip, details: { allow: rules } });
      })
      .immediate();
    this.#values.set(name, value);
    this.#allow.set(name, rules);
    this.#unreadable.delete(name);
    this.#rebuildMasker();
    return toJson({ name, allow: JSON.stringify(rules), created_at: now, updated_at: now });
  }

  /**
   * Replaces a secret's value and/or its allow-list (the old value stays masked until the server restarts:
   * it may still be in flight).
   */
  update(name: string, change: { value?: string; allow?: SecretAllow }, actor: AuditActor, ip: string | null = null): SecretJson {
    const { value, allow } = change;
    if (value !== undefined) this.#check(name, value);
    const now = this.clock();
    const sealed = value === undefined ? null : this.#encrypt(name, value);
    const row = this.db.sqlite
      .transaction(() => {
        const sets = ["updated_at = $now"];
        if (sealed) sets.push("ciphertext = $ciphertext", "iv = $iv", "tag = $tag");
        if (allow) sets.push("allow = $allow");
        const changed = this.db.sqlite
          .query(`UPDATE secrets SET ${sets.join(", ")} WHERE name = $name`)
          .run({ now, name, ...(sealed ?? {}), ...(allow ? { allow: JSON.stringify(allow) } : {}) }).changes;
        if (!changed) throw notFound("secret", name);
        recordAudit(
          { db: this.db, clock: this.clock },
          { actor, action: "secret.updated", resource: { type: "secret", id: name }, ip, details: { value_changed: value !== undefined, ...(allow ? { allow } : {}) } },
        );
        return this.db.sqlite.query<SecretRow, [string]>("SELECT name, allow, created_at, updated_at FROM secrets WHERE name = ?").get(name)!;
      })
      .immediate();
    if (allow) this.#allow.set(name, allow);
    if (value !== undefined) {
      const old = this.#values.get(name);
      this.#values.set(name, value);
      if (old !== undefined && old !== value) this.#values.set(`\0previous:${name}:${now}`, old);
      this.#unreadable.delete(name);
      this.#rebuildMasker();
    }
    return toJson(row);
  }

  delete(name: string, actor: AuditActor, ip: string | null = null): void {
    this.db.sqlite
      .transaction(() => {
        if (!this.db.sqlite.query("DELETE FROM secrets WHERE name = ?").run(name).changes) throw notFound("secret", name);
        recordAudit({ db: this.db, clock: this.clock }, { actor, action: "secret.deleted", resource: { type: "secret", id: name }, ip });
      })
      .immediate();
    // Its value stays in the masker: tasks that already resolved it may still print it.
    const value = this.#values.get(name);
    this.#values.delete(name);
    this.#allow.delete(name);
    if (value !== undefined) this.#values.set(`\0deleted:${name}`, value);
    this.#unreadable.delete(name);
  }

  /** A secret's value for the server's own use (the model's API key, the webhook's signing key); undefined when unset. */
  reveal(name: string): string | undefined {
    return this.#readable(name) ? this.#values.get(name) : undefined;
  }

  /** Names referenced by `{{secrets.NAME}}` anywhere in `value` that cannot be resolved (unknown or unreadable). */
  missingSecrets(value: unknown): string[] {
    return [...new Set(this.missingSecretRefs(value).map((r) => r.name))];
  }

  /**
   * Each `{{secrets.NAME}}` in `value` that cannot be resolved, with where it is (`command`, `args[1]`,
   * `env.TOKEN`): what a submission's 400 names. Only values are looked at, never keys (they are not resolved).
   */
  missingSecretRefs(value: unknown): Array<{ path: string; name: string; unreadable: boolean }> {
    const out: Array<{ path: string; name: string; unreadable: boolean }> = [];
    walkStrings(value, (s, path) => {
      for (const m of s.matchAll(TEMPLATE)) if (!this.#readable(m[1]!)) out.push({ path, name: m[1]!, unreadable: this.#unreadable.has(m[1]!) });
    });
    return out;
  }

  #readable(name: string) {
    return !name.startsWith("\0") && this.#values.has(name) && !this.#unreadable.has(name);
  }

  /** The allow-list of a stored secret (undefined when there is none of that name). */
  allowOf(name: string): SecretAllow | undefined {
    return this.#allow.get(name);
  }

  /** Names of secrets that may not leave the server: orders naming one are not handed to remote workers. */
  localOnly(): string[] {
    return [...this.#allow].filter(([, a]) => !a.remote_workers).map(([name]) => name);
  }

  /**
   * Each `{{secrets.NAME}}` in `params` that a task of `taskType` written by `userId` may not use (its
   * allow-list's roles, task types and, for http, hosts), with where it is and the rule that refuses it.
   * `userId` null is the system (engine-internal, the offline CLI), which any role rule lets through.
   */
  refusedSecretUses(params: unknown, use: { userId: string | null; taskType: string; remote?: boolean }): Array<{ path: string; name: string; message: string }> {
    const out: Array<{ path: string; name: string; message: string }> = [];
    let role: Role | null | undefined;
    walkStrings(params, (s, path) => {
      for (const m of s.matchAll(TEMPLATE)) {
        const allow = this.#allow.get(m[1]!);
        if (!allow) continue; // unknown: missingSecretRefs names it
        role ??= this.#roleOf(use.userId);
        const host = use.taskType === "http" && params && typeof params === "object" ? httpHost(params as Record<string, unknown>) : null;
        const why = refusal(m[1]!, allow, { role, taskType: use.taskType, host, remote: use.remote });
        if (why) out.push({ path, name: m[1]!, message: why });
      }
    });
    return out;
  }

  /** The current role of a task's author; a deactivated or deleted author has none that allows anything. */
  #roleOf(userId: string | null): Role | null {
    if (userId === null) return null;
    const row = this.db.sqlite.query<{ role: Role; is_active: number }, [string]>("SELECT role, is_active FROM users WHERE id = ?").get(userId);
    return row && row.is_active ? row.role : ("viewer" as Role);
  }

  /**
   * `params` with every `{{secrets.NAME}}` replaced by the value (always as text), and those values. Throws
   * 400 naming secrets that do not exist, and 403 naming the rule when the secret's allow-list refuses this
   * use (checked again at run time: an http step's URL may only now be known, an author's role may have
   * changed). Call it when the task is handed to a worker, never before storing params.
   */
  resolveForRun<T>(params: T, use: { userId: string | null; taskType: string; remote?: boolean } | null): ResolvedParams<T> {
    const missing = this.missingSecrets(params);
    const unreadable = missing.filter((name) => this.#unreadable.has(name));
    if (unreadable.length) {
      throw invalid(`Secret${unreadable.length > 1 ? "s" : ""} ${unreadable.join(", ")} cannot be decrypted: the server's secrets key is not the one they were stored with`);
    }
    if (missing.length) {
      throw invalid(`Unknown secret${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`, missing.map((name) => ({ field: `secrets.${name}`, message: "no such secret" })));
    }
    const refused = use ? this.refusedSecretUses(params, use) : [];
    if (refused.length) throw new AppError(403, "forbidden", refused[0]!.message, refused.map((r): ErrorDetail => ({ field: r.path, message: r.message })));
    const values = new Set<string>();
    // Values only: a key is a name (an env variable, a header), not a place for a secret.
    const resolved = mapStrings(
      params,
      (s) =>
        s.replace(TEMPLATE, (_, name: string) => {
          const value = this.#values.get(name)!;
          values.add(value);
          return value;
        }),
      null,
    ) as T;
    return { params: resolved, values: [...values] };
  }

  /** `params` with every `{{secrets.NAME}}` replaced by its value, whatever the allow-lists say (tests, the server's own use). */
  resolveSecretTemplates<T>(params: T): T {
    return this.resolveForRun(params, null).params;
  }

  /** `text` with every whole occurrence of a secret value (or one of its forms) replaced by ***. */
  maskSecrets(text: string): string {
    return this.#masker.replace(text, MASK);
  }

  /** A JSON value with every string masked (keys included): for results, metadata and the like. */
  maskSecretsDeep<T>(value: T): T {
    if (this.#masker.empty) return value;
    return mapStrings(value, (s) => this.maskSecrets(s), (k) => this.maskSecrets(k)) as T;
  }
}

/** Visits every string value (not keys) with its path: `command`, `args[1]`, `env.TOKEN`. */
function walkStrings(value: unknown, visit: (s: string, path: string) => void, path = ""): void {
  if (typeof value === "string") visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, visit, `${path}[${i}]`));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) walkStrings(v, visit, path ? `${path}.${k}` : k);
}

/** `value` with every string value mapped by `map` and every key by `mapKey` (kept as-is when null). */
function mapStrings(value: unknown, map: (s: string) => string, mapKey: ((s: string) => string) | null = map): unknown {
  if (typeof value === "string") return map(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, map, mapKey));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [mapKey ? mapKey(k) : k, mapStrings(v, map, mapKey)]));
  }
  return value;
}
