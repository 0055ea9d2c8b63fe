// Server keys: kept in the data dir (random bytes generated on first start, written once with mode 0600)
// or given in the configuration (AGENTVINE_SECRETS_KEY).
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { logger } from "../log.ts";

const log = logger("keys");

/**
 * Reads the base64url key in `path`, or creates it with `bytes` random bytes. The file is created
 * exclusively (two servers starting at once agree on one key) and readable by its owner only.
 */
export function loadOrCreateKeyFile(path: string, bytes: number): Uint8Array {
  try {
    writeFileSync(path, `${Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
    log.debug(`generated ${path}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    // A key others can read is a key others can use: tighten it rather than start with it exposed.
    chmodSync(path, 0o600);
    log.warn(`${path} was readable by others (mode ${mode.toString(8)}); changed it to 600`);
  }
  const key = Buffer.from(readFileSync(path, "utf8").trim(), "base64url");
  if (key.length !== bytes) throw new Error(`${path} holds ${key.length} bytes, expected ${bytes}: restore it from a backup or remove it`);
  return new Uint8Array(key);
}

/** The secrets store's key as configured: AGENTVINE_SECRETS_KEY holds 32 bytes as base64, base64url or hex. */
export function parseSecretsKey(text: string): Uint8Array | null {
  const t = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, /[-_]/.test(t) ? "base64url" : "base64");
  return bytes.length === 32 ? new Uint8Array(bytes) : null;
}
