// What the auth services need, built once at start: settings with their chosen numbers, the JWT signer
// (its secret from config or the data dir), the principal cache and the sign-in throttle state.
import { join } from "node:path";
import type { Db } from "../../db/client.ts";
import { loadOrCreateKeyFile } from "../../data-dir/key-files.ts";
import { DEFAULT_PASSWORD_COST, dummyHash, type PasswordCost } from "./passwords.ts";
import { PrincipalCache } from "./principals.ts";
import { TokenSigner } from "./tokens.ts";

export interface LockoutPolicy {
  /** Consecutive failures after which each further attempt must wait (1 s, doubling per failure). */
  throttleAfter: number;
  firstDelaySeconds: number;
  /** Consecutive failures that lock the account for `lockSeconds` (and every failure after, until a success). */
  lockAfter: number;
  lockSeconds: number;
}

export interface AuthSettings {
  /** Bearer access tokens: short, because a token copied out of a log works until it expires. */
  accessTokenTtlSeconds: number;
  /** A refresh token, and so a session, ends this long after it was issued unless refreshed. */
  refreshTokenTtlSeconds: number;
  /** The browser cookie's token; renewed while in use, so this is the idle timeout of a browser session. */
  sessionTtlSeconds: number;
  openRegistration: boolean;
  passwordCost: PasswordCost;
  lockout: LockoutPolicy;
  /** How long a cached user/session/key row is trusted without asking the database again. */
  cacheTtlMs: number;
  /** Read the client address from X-Forwarded-For / X-Forwarded-Proto (behind a reverse proxy). */
  trustProxy: boolean;
}

export const DEFAULT_AUTH_SETTINGS: AuthSettings = {
  accessTokenTtlSeconds: 15 * 60,
  refreshTokenTtlSeconds: 30 * 24 * 3600,
  sessionTtlSeconds: 12 * 3600,
  openRegistration: false,
  passwordCost: DEFAULT_PASSWORD_COST,
  // 3 free tries; then 1, 2, 4 … 64 s between tries; the 10th failure locks for 15 min. An online
  // guesser gets ~10 tries per 15 minutes (~1,000 a day) against one account.
  lockout: { throttleAfter: 3, firstDelaySeconds: 1, lockAfter: 10, lockSeconds: 15 * 60 },
  cacheTtlMs: 30_000,
  trustProxy: false,
};

export interface LoginState {
  failures: number;
  lockedUntil: number | null;
}

export interface AuthDeps {
  /**
   * Told (after the commit) that an account got an email address it has not verified — registered, created
   * or changed: the email feature sends the verification link. Unset offline (the CLI) and in tests.
   */
  onEmailSet?: (userId: string) => void;
  db: Db;
  clock: () => number;
  settings: AuthSettings;
  tokens: TokenSigner;
  principals: PrincipalCache;
  /**
   * Failed sign-ins for usernames that do not exist, throttled and locked exactly like real accounts so
   * the answers cannot tell the two apart. Bounded: the oldest entries go first.
   */
  unknownLogins: Map<string, LoginState>;
  /** Usernames with a sign-in being checked right now: a second one waits its turn (429). */
  loginsInFlight: Set<string>;
}

export const JWT_SECRET_FILE = "jwt-secret.key";

export interface CreateAuthOptions {
  db: Db;
  dataDir: string;
  /** From AGENTVINE_JWT_SECRET; otherwise a 64-byte secret generated in the data dir. */
  jwtSecret?: string;
  clock?: () => number;
  settings?: Partial<AuthSettings>;
}

export async function createAuth(options: CreateAuthOptions): Promise<AuthDeps> {
  const settings = { ...DEFAULT_AUTH_SETTINGS, ...options.settings };
  const secret = options.jwtSecret ?? loadOrCreateKeyFile(join(options.dataDir, JWT_SECRET_FILE), 64);
  // Made now, so the first sign-in for an unknown user is not the one that pays for it (and shows).
  void dummyHash(settings.passwordCost);
  return {
    db: options.db,
    clock: options.clock ?? Date.now,
    settings,
    tokens: await TokenSigner.create(secret),
    principals: new PrincipalCache(options.db, settings.cacheTtlMs),
    unknownLogins: new Map(),
    loginsInFlight: new Set(),
  };
}
