// Passwords: argon2id hashing at a deliberate cost, the rules a new password must meet, and a dummy
// hash so a sign-in for an unknown user costs what a real one does.
import commonList from "./common-passwords.txt" with { type: "text" };
import type { ErrorDetail } from "../../errors.ts";

export interface PasswordCost {
  /** KiB of memory per hash. */
  memoryCost: number;
  /** Passes over that memory. */
  timeCost: number;
}

/**
 * OWASP's first argon2id configuration: 19 MiB, 2 passes, 1 lane. On the 2-core VM this server targets it
 * takes ~30 ms per verify (bench/auth.ts: 30-50 sign-ins/s per server) — for an attacker holding the
 * database, 19 MiB of memory-hard work per guess — yet keeps sign-in cheap enough that a burst of logins
 * cannot starve the task threads of CPU or memory. Bun's default (64 MiB, t=2) costs 140-185 ms and 64 MiB
 * per concurrent attempt: 5x the CPU for the same OWASP-rated strength, and an easy lever for a login flood.
 * The parameters live in each stored hash, so raising them later rehashes users at their next sign-in.
 */
export const DEFAULT_PASSWORD_COST: PasswordCost = { memoryCost: 19_456, timeCost: 2 };

export const MIN_PASSWORD_LENGTH = 12;
/** argon2 accepts any length; this bounds the request, not the strength. */
export const MAX_PASSWORD_LENGTH = 256;

export function hashPassword(password: string, cost: PasswordCost = DEFAULT_PASSWORD_COST): Promise<string> {
  return Bun.password.hash(password, { algorithm: "argon2id", ...cost });
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return Bun.password.verify(password, hash).catch(() => false);
}

/** True when `hash` was made with other parameters than `cost` (or another algorithm): rehash it. */
export function needsRehash(hash: string, cost: PasswordCost = DEFAULT_PASSWORD_COST): boolean {
  return !hash.startsWith(`$argon2id$v=19$m=${cost.memoryCost},t=${cost.timeCost},p=1$`);
}

const dummyHashes = new Map<string, Promise<string>>();
/** A hash of a random password at `cost`, made once: verifying against it takes as long as a real check. */
export function dummyHash(cost: PasswordCost = DEFAULT_PASSWORD_COST): Promise<string> {
  const key = `${cost.memoryCost}:${cost.timeCost}`;
  let hash = dummyHashes.get(key);
  if (!hash) dummyHashes.set(key, (hash = hashPassword(crypto.randomUUID(), cost)));
  return hash;
}

const COMMON = new Set(
  commonList
    .split("\n")
    .map((line) => line.trim().toLowerCase())
    .filter((line) => line && !line.startsWith("#")),
);

/** Whether the password, or its core once digits and symbols around it are removed, is a common one. */
export function isCommonPassword(password: string): boolean {
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return true;
  // "Password1234!" and "!!monkey2024" are the common word with decoration: just as guessable.
  const core = lower.replace(/^[\d\W_]+|[\d\W_]+$/g, "");
  if (core.length >= 3 && COMMON.has(core)) return true;
  // "monkeymonkeymonkey": a common word repeated.
  for (let size = 3; size <= core.length / 2; size++) {
    if (core.length % size === 0 && core.slice(0, size).repeat(core.length / size) === core && COMMON.has(core.slice(0, size))) return true;
  }
  return false;
}

/** Everything wrong with a new password, each as a detail for the `password` field (empty when it is fine). */
export function passwordProblems(password: string, context: { username?: string; field?: string } = {}): ErrorDetail[] {
  const field = context.field ?? "password";
  const problems: ErrorDetail[] = [];
  if (password.length < MIN_PASSWORD_LENGTH) {
    problems.push({ field, code: "too_short", message: `must be at least ${MIN_PASSWORD_LENGTH} characters (got ${password.length}); a few unrelated words make a good one` });
  } else if (password.length > MAX_PASSWORD_LENGTH) {
    problems.push({ field, code: "too_long", message: `must be at most ${MAX_PASSWORD_LENGTH} characters` });
  }
  if (isCommonPassword(password)) {
    problems.push({ field, code: "too_common", message: "is one of the most common passwords (or one with digits or symbols added): choose another" });
  } else if (new Set(password).size < 5) {
    problems.push({ field, code: "too_repetitive", message: "uses fewer than 5 different characters: choose a less repetitive one" });
  }
  const username = context.username?.toLowerCase();
  if (username && username.length >= 3 && password.toLowerCase().includes(username)) {
    problems.push({ field, code: "contains_username", message: "must not contain the username" });
  }
  return problems;
}
