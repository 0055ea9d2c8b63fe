// Token primitives: HS256 JWTs (hono/jwt) checked against an injected clock, opaque random tokens, SHA-256.
import { sign, verify } from "hono/jwt";

/** `access`: the short-lived Bearer token. `session`: the browser cookie's token (longer, renewed while used). */
export type TokenKind = "access" | "session";

export interface TokenClaims {
  /** The user id. */
  sub: string;
  /** The session (refresh-token family) it belongs to: revoking the session ends the token at once. */
  sid: string;
  kind: TokenKind;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; reason: "expired" | "invalid" };

const ALG = "HS256";

/** Verified tokens remembered (by their full text, signature included): most clients send the same one repeatedly. */
const VERIFIED_CACHE_SIZE = 10_000;

export class TokenSigner {
  /**
   * A token whose signature checked out once need not be checked again: WebCrypto's HMAC verify is
   * ~50 µs per call (async), a map lookup ~0.1 µs. The claims (expiry) are still checked every time.
   */
  #verified = new Map<string, TokenClaims>();

  private constructor(private readonly key: CryptoKey) {}

  /** Imports the secret once: hono/jwt would import a string secret again on every sign and verify. */
  static async create(secret: Uint8Array | string): Promise<TokenSigner> {
    const raw = typeof secret === "string" ? new TextEncoder().encode(secret) : new Uint8Array(secret);
    const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    return new TokenSigner(key);
  }

  sign(claims: { sub: string; sid: string; kind: TokenKind }, nowMs: number, ttlSeconds: number): Promise<string> {
    const iat = Math.floor(nowMs / 1000);
    return sign({ sub: claims.sub, sid: claims.sid, kind: claims.kind, iat, exp: iat + ttlSeconds }, this.key, ALG);
  }

  /**
   * Checks the signature with the algorithm pinned to HS256 (a token saying `alg: none` or any other
   * algorithm is refused before its signature is looked at), then the claims against `nowMs`: the clock
   * is ours, not hono's, so tests move time instead of sleeping.
   */
  async verify(token: string, nowMs: number): Promise<VerifyResult> {
    const known = this.#verified.get(token);
    if (known) {
      if (known.exp * 1000 <= nowMs) {
        this.#verified.delete(token);
        return { ok: false, reason: "expired" };
      }
      return { ok: true, claims: known };
    }
    const result = await this.#verifySignature(token, nowMs);
    if (result.ok) {
      this.#verified.set(token, result.claims);
      if (this.#verified.size > VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value!);
    }
    return result;
  }

  /** Forgets the verified tokens (the benchmark measures the cold path with it). */
  clearCache(): void {
    this.#verified.clear();
  }

  async #verifySignature(token: string, nowMs: number): Promise<VerifyResult> {
    let payload: Record<string, unknown>;
    try {
      payload = await verify(token, this.key, { alg: ALG, exp: false, nbf: false, iat: false });
    } catch {
      return { ok: false, reason: "invalid" };
    }
    const { sub, sid, kind, iat, exp } = payload;
    if (typeof sub !== "string" || typeof sid !== "string" || (kind !== "access" && kind !== "session")) return { ok: false, reason: "invalid" };
    if (typeof iat !== "number" || typeof exp !== "number" || !Number.isFinite(exp)) return { ok: false, reason: "invalid" };
    if (exp * 1000 <= nowMs) return { ok: false, reason: "expired" };
    return { ok: true, claims: { sub, sid, kind, iat, exp } };
  }
}

/** `prefix` + 32 random bytes, base64url: 256 bits nobody can guess. */
export function randomToken(prefix: string): string {
  return prefix + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

/**
 * SHA-256, hex. Right for refresh tokens and API keys (not for passwords): they are 256 random bits,
 * so there is nothing to brute-force and a slow hash would only slow every request down.
 */
export function sha256(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

export const REFRESH_TOKEN_PREFIX = "avr_";
export const API_KEY_PREFIX = "avk_";
