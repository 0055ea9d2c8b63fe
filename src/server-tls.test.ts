// HTTPS in the binary (--tls-cert/--tls-key): a real server with a self-signed certificate made by openssl.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "./config.ts";
import { SESSION_COOKIE } from "./features/auth/middleware.ts";
import { startSession } from "./features/auth/sessions.ts";
import { findUserByLogin } from "./features/auth/users.ts";
import { embeddedServerOptions, startServer } from "./server.ts";
import { cleanup, startTestServer, tempDir } from "../test/helpers.ts";

afterEach(cleanup);

/** Self-signed: the client must not verify it (what a browser's "proceed anyway" does). */
const insecure = (init: RequestInit = {}): BunFetchRequestInit => ({ ...init, tls: { rejectUnauthorized: false } });

let certs: { cert: string; key: string; otherKey: string; dir: string };

function selfSigned(dir: string, name: string) {
  const keyout = join(dir, `${name}.key`);
  const out = join(dir, `${name}.crt`);
  const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1", "-keyout", keyout, "-out", out]);
  if (made.exitCode !== 0) throw new Error(`openssl req failed: ${made.stderr.toString()}`);
  return { cert: out, key: keyout };
}

beforeAll(() => {
  if (!Bun.which("openssl")) throw new Error("these tests make a self-signed certificate with openssl: install it");
  const dir = mkdtempSync(join(tmpdir(), "agentvine-tls-")); // shared by the tests: not a per-test tempDir

  const one = selfSigned(dir, "server");
  const other = selfSigned(dir, "other");
  certs = { ...one, otherKey: other.key, dir };
});

afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

describe("HTTPS with --tls-cert and --tls-key", () => {
  test("serves https (and only https) with HSTS, and the API works over it", async () => {
    const server = await startTestServer({ workers: 0, tlsCert: certs.cert, tlsKey: certs.key });
    expect(server.url).toStartWith("https://127.0.0.1:");
    const res = await fetch(`${server.url}/api/v1/tasks`, insecure({ headers: { authorization: `Bearer ${server.token}` } }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { total: number }).total).toBe(0);
    expect(res.headers.get("strict-transport-security")).toBe("max-age=31536000");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    // A page over HTTPS: HSTS there too.
    const page = await fetch(`${server.url}/`, insecure({ headers: { authorization: `Bearer ${server.token}` } }));
    expect(page.status).toBe(200);
    expect(page.headers.get("strict-transport-security")).toBe("max-age=31536000");
    // The certificate is checked by default: an unverified self-signed one is refused by the client.
    await expect(fetch(`${server.url}/api/v1/health`)).rejects.toThrow();
    // Plain HTTP on the same port gets no answer.
    await expect(fetch(`${server.url.replace("https:", "http:")}/api/v1/health`)).rejects.toThrow();
  });

  test("the browser session cookie is Secure over HTTPS", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const server = await startTestServer({ workers: 0, tlsCert: certs.cert, tlsKey: certs.key, clock: () => now });
    const auth = server.services.auth;
    // A session as the login form starts one, then past half its life: the server renews the cookie.
    const admin = findUserByLogin(auth, "admin")!;
    const { sessionId } = startSession(auth, admin.id);
    const token = await auth.tokens.sign({ sub: admin.id, sid: sessionId, kind: "session" }, now, auth.settings.sessionTtlSeconds);
    now += (auth.settings.sessionTtlSeconds * 1000) / 2 + 60_000;
    const res = await fetch(`${server.url}/api/v1/users/me`, insecure({ headers: { cookie: `${SESSION_COOKIE}=${token}` } }));
    expect(res.status).toBe(200);
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toStartWith(`${SESSION_COOKIE}=`);
    expect(setCookie).toContain("Secure");
    expect(setCookie).toContain("HttpOnly");
  });

  test("a bad certificate or key is named before anything starts", async () => {
    const junk = join(certs.dir, "junk.pem");
    writeFileSync(junk, "not a certificate\n");
    const attempt = async (tlsCert: string, tlsKey: string) => {
      const dataDir = tempDir();
      try {
        await startServer(embeddedServerOptions(dataDir, { workers: 0, tlsCert, tlsKey }));
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error("expected the server not to start");
    };
    expect(await attempt(junk, certs.key)).toStartWith(`--tls-cert ${junk} is not a PEM certificate`);
    expect(await attempt(certs.cert, junk)).toStartWith(`--tls-key ${junk} is not a PEM private key`);
    expect(await attempt(certs.key, certs.cert)).toStartWith(`--tls-cert ${certs.key} is not a PEM certificate`);
    expect(await attempt(certs.cert, certs.otherKey)).toStartWith(`--tls-key ${certs.otherKey} is not the key of the certificate in ${certs.cert}`);
  });
});
