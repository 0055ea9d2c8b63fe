// Secrets at rest: name → value, AES-256-GCM under a key from config or the data dir; `{{secrets.NAME}}`
// resolved in task params at run time, and every known value masked as *** in text and JSON.
import { createCipheriv, createDecipheriv } from "node:crypto";
import { join } from "node:path";
import type { Db } from "../../db/client.ts";
import { conflict, invalid, notFound } from "../../errors.ts";
import { logger } from "../../log.ts";
import { recordAudit, type AuditActor } from "../audit/service.ts";
import { loadOrCreateKeyFile } from "../../data-dir/key-files.ts";

const log = logger("secrets");

export const SECRETS_KEY_FILE = "secrets.key";
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Shorter values would mask ordinary text all over the logs (and are no secret anyway). */
export const MIN_SECRET_LENGTH = 4;
export const MASK = "***";

/** How masking treats text that may have been cut (see `maskSecrets`). */
export interface MaskOptions {
  /**
   * The text may be a tail or a head of something longer (a command's last 64 KiB, a response body's
   * first 1 MiB), so the cut can have landed inside a value: also mask a leading fragment that ends a
   * value (or one of its forms) and a trailing fragment that starts one, of at least MIN_SECRET_LENGTH
   * characters. Text that merely happens to begin or end that way is masked as well; that is the price.
   */
  edges?: boolean;
}

const TEMPLATE = /\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

interface SecretRow {
  name: string;
  ciphertext: string;
  iv: string;
  tag: string;
  created_at: number;
  updated_at: number;
}

export interface SecretJson {
  name: string;
  created_at: string;
  updated_at: string;
}

const toJson = (r: { name: string; created_at: number; updated_at: number }): SecretJson => ({
  name: r.name,
  created_at: new Date(r.created_at).toISOString(),
  updated_at: new Date(r.updated_at).toISOString(),
});

export class SecretStore {
  /** Decrypted values, by name: what templates resolve to and what the masker hides. */
  #values = new Map<string, string>();
  #unreadable = new Set<string>();
  #masker: RegExp | null = null;
  /** Every form the masker matches (longest first): what a fragment at a cut edge is compared with. */
  #forms: string[] = [];

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
   * One regex over every value ever known to this process (deleted and replaced ones too), rebuilt when
   * secrets change, so masking a line costs one scan. Besides each value it matches the forms a value
   * is commonly printed in: JSON-escaped, URL-encoded, and each line of a multi-line value (log lines
   * are masked one at a time, so a PEM key printed by `cat` arrives line by line).
   */
  #rebuildMasker() {
    const patterns = new Set<string>();
    for (const value of this.#values.values()) {
      for (const form of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]) patterns.add(form);
      if (/[\r\n]/.test(value)) {
        for (const line of value.split(/\r?\n|\r/)) if (line.trim().length >= MIN_SECRET_LENGTH) patterns.add(line);
      }
    }
    // Longest first, so a secret containing another is masked whole.
    const sorted = [...patterns].filter((p) => p.length > 0).sort((a, b) => b.length - a.length);
    this.#forms = sorted;
    this.#masker = sorted.length ? new RegExp(sorted.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g") : null;
  }

  #check(name: string, value: string) {
    if (!SECRET_NAME.test(name)) throw invalid(`Invalid secret name '${name}'`, [{ field: "name", message: "letters, digits and _, not starting with a digit (at most 128)" }]);
    // Counted without surrounding whitespace: a value of four spaces would mask every indented line.
    if (value.trim().length < MIN_SECRET_LENGTH) {
      throw invalid(`A secret value needs at least ${MIN_SECRET_LENGTH} characters`, [{ field: "value", message: `at least ${MIN_SECRET_LENGTH} characters, so masking it cannot garble ordinary log text` }]);
    }
  }

  list(): SecretJson[] {
    return this.db.sqlite.query<SecretRow, []>("SELECT name, created_at, updated_at FROM secrets ORDER BY name").all().map(toJson);
  }

  /** Stores a new secret; 409 when the name exists (use `update`). */
  create(name: string, value: string, actor: AuditActor, ip: string | null = null): SecretJson {
    this.#check(name, value);
    const now = this.clock();
    const { ciphertext, iv, tag } = this.#encrypt(name, value);
    this.db.sqlite
      .transaction(() => {
        if (this.db.sqlite.query("SELECT 1 FROM secrets WHERE name = ?").get(name)) throw conflict(`A secret named '${name}' exists: PUT /api/v1/secrets/${name} replaces its value`);
        this.db.sqlite.query("INSERT INTO secrets (name, ciphertext, iv, tag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)").run(name, ciphertext, iv, tag, now, now);
        recordAudit({ db: this.db, clock: this.clock }, { actor, action: "secret.created", resource: { type: "secret", id: name }, ip });
      })
      .immediate();
    this.#values.set(name, value);
    this.#unreadable.delete(name);
    this.#rebuildMasker();
    return toJson({ name, created_at: now, updated_at: now });
  }

  /** Replaces a secret's value (the old value stays masked until the server restarts: it may still be in flight). */
  update(name: string, value: string, actor: AuditActor, ip: string | null = null): SecretJson {
    this.#check(name, value);
    const now = this.clock();
    const { ciphertext, iv, tag } = this.#encrypt(name, value);
    const row = this.db.sqlite
      .transaction(() => {
        const changed = this.db.sqlite.query("UPDATE secrets SET ciphertext = ?, iv = ?, tag = ?, updated_at = ? WHERE name = ?").run(ciphertext, iv, tag, now, name).changes;
        if (!changed) throw notFound("secret", name);
        recordAudit({ db: this.db, clock: this.clock }, { actor, action: "secret.updated", resource: { type: "secret", id: name }, ip });
        return this.db.sqlite.query<SecretRow, [string]>("SELECT name, created_at, updated_at FROM secrets WHERE name = ?").get(name)!;
      })
      .immediate();
    const old = this.#values.get(name);
    this.#values.set(name, value);
    if (old !== undefined && old !== value) this.#values.set(`\0previous:${name}:${now}`, old);
    this.#unreadable.delete(name);
    this.#rebuildMasker();
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

  /**
   * `params` with every `{{secrets.NAME}}` replaced by the value (always as text). Throws 400 naming the
   * secrets that do not exist. Call it when the task is handed to a worker, never before storing params.
   */
  resolveSecretTemplates<T>(params: T): T {
    const missing = this.missingSecrets(params);
    const unreadable = missing.filter((name) => this.#unreadable.has(name));
    if (unreadable.length) {
      throw invalid(`Secret${unreadable.length > 1 ? "s" : ""} ${unreadable.join(", ")} cannot be decrypted: the server's secrets key is not the one they were stored with`);
    }
    if (missing.length) {
      throw invalid(`Unknown secret${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`, missing.map((name) => ({ field: `secrets.${name}`, message: "no such secret" })));
    }
    // Values only: a key is a name (an env variable, a header), not a place for a secret.
    return mapStrings(params, (s) => s.replace(TEMPLATE, (_, name: string) => this.#values.get(name)!), null) as T;
  }

  /**
   * `text` with every secret value replaced by ***. With `edges`, the text may have been cut inside a
   * value: a fragment at either end that could only be part of one is masked too (see MaskOptions).
   */
  maskSecrets(text: string, options: MaskOptions = {}): string {
    if (!this.#masker || !text) return text;
    if (!options.edges) return text.replace(this.#masker, MASK);
    // Every range to hide, found in the original text (masking first could turn a cut value that overlaps
    // a whole one into a fragment no longer recognisable), then replaced together.
    const ranges: Array<[number, number]> = [];
    const lead = Math.max(0, ...this.#forms.map((f) => leadingFragment(text, f)));
    if (lead) ranges.push([0, lead]);
    for (const m of text.matchAll(this.#masker)) ranges.push([m.index, m.index + m[0].length]);
    const trail = Math.max(0, ...this.#forms.map((f) => trailingFragment(text, f)));
    if (trail) ranges.push([text.length - trail, text.length]);
    if (!ranges.length) return text;
    ranges.sort((a, b) => a[0] - b[0]);
    let out = "";
    let at = 0;
    let open: [number, number] | null = null;
    for (const [start, end] of ranges) {
      if (open && start < open[1]) {
        open[1] = Math.max(open[1], end);
        continue;
      }
      if (open) {
        out += MASK;
        at = open[1];
      }
      out += text.slice(at, start);
      open = [start, end];
    }
    return out + MASK + text.slice(open![1]);
  }

  /**
   * A JSON value with every string masked (keys included): for results, metadata and the like. With
   * `edges`, string values (not keys: nothing cuts those) are treated as possibly cut (see MaskOptions).
   */
  maskSecretsDeep<T>(value: T, options: MaskOptions = {}): T {
    if (!this.#masker) return value;
    return mapStrings(value, (s) => this.maskSecrets(s, options), (k) => this.maskSecrets(k)) as T;
  }
}

/** How many leading characters of `text` (at least MIN_SECRET_LENGTH) are the end of `form`; 0 if none. */
function leadingFragment(text: string, form: string): number {
  if (text.length < MIN_SECRET_LENGTH) return 0;
  const head = text.slice(0, MIN_SECRET_LENGTH);
  // The first place the head occurs in the form gives the longest fragment.
  for (let i = form.indexOf(head); i >= 0; i = form.indexOf(head, i + 1)) {
    if (text.startsWith(form.slice(i))) return form.length - i;
  }
  return 0;
}

/** How many trailing characters of `text` (at least MIN_SECRET_LENGTH) are the start of `form`; 0 if none. */
function trailingFragment(text: string, form: string): number {
  if (text.length < MIN_SECRET_LENGTH) return 0;
  const tail = text.slice(-MIN_SECRET_LENGTH);
  // The last place the tail occurs in the form gives the longest fragment.
  for (let j = form.lastIndexOf(tail); j >= 0; j = j > 0 ? form.lastIndexOf(tail, j - 1) : -1) {
    if (text.endsWith(form.slice(0, j + MIN_SECRET_LENGTH))) return j + MIN_SECRET_LENGTH;
  }
  return 0;
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
