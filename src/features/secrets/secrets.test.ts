// Secrets: encrypted at rest (the database file holds no plaintext), never answered back, resolved into
// params as {{secrets.NAME}}, masked in text and JSON; the key from the data dir or AGENTVINE_SECRETS_KEY.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { bearer, errorOf, expectOk, registerAdmin, send } from "../../../test/auth.ts";
import { cleanup, json, startTestApp } from "../../../test/helpers.ts";
import { SYSTEM_ACTOR } from "../audit/service.ts";

afterEach(cleanup);

const VALUE = "ghp_Sup3rS3cretT0kenValue1234567890";

/** Every byte of the database: the main file and its write-ahead log. */
function databaseBytes(dbPath: string): string {
  const parts = [dbPath, `${dbPath}-wal`].map((p) => {
    try {
      return readFileSync(p).toString("latin1");
    } catch {
      return "";
    }
  });
  return parts.join("");
}

describe("/secrets", () => {
  test("stored encrypted: neither the database file nor any answer contains the value; names are listed", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const created = await expectOk(await server.api("/secrets", bearer(admin.access_token, json({ name: "GITHUB_TOKEN", value: VALUE }))), 201);
    expect(Object.keys(created).sort()).toEqual(["allow", "created_at", "name", "updated_at"]);
    // By default only admins' tasks may use it, of any type, to any host, and it never leaves the server.
    expect(created.allow).toEqual({ roles: ["admin"], task_types: null, hosts: null, remote_workers: false });
    const list = await expectOk(await server.api("/secrets", bearer(admin.access_token)));
    expect(list.items.map((s: { name: string }) => s.name)).toEqual(["GITHUB_TOKEN"]);
    expect(JSON.stringify(list)).not.toContain(VALUE);

    server.db.sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const bytes = databaseBytes(server.db.path);
    expect(bytes).toContain("GITHUB_TOKEN"); // the file was read: the name is there …
    expect(bytes).not.toContain(VALUE); // … the value is not
    expect(bytes).not.toContain(Buffer.from(VALUE).toString("base64"));
    const row = server.db.sqlite.query<{ ciphertext: string; iv: string; tag: string }, []>("SELECT ciphertext, iv, tag FROM secrets").get()!;
    expect(Buffer.from(row.iv, "base64").length).toBe(12);
    expect(Buffer.from(row.tag, "base64").length).toBe(16);

    const keyFile = join(server.services.config.dataDir, "secrets.key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const audit = server.db.sqlite.query<{ action: string; resource_id: string; details: string | null }, []>("SELECT action, resource_id, details FROM audit_events WHERE resource_type = 'secret'").all();
    expect(audit).toEqual([{ action: "secret.created", resource_id: "GITHUB_TOKEN", details: JSON.stringify({ allow: created.allow }) }]);
  });

  test("create is 409 on a taken name, PUT replaces the value, DELETE removes; bad input is 400", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(server);
    const call = (path: string, init: RequestInit) => server.api(path, bearer(admin.access_token, init));
    await expectOk(await call("/secrets", json({ name: "API_KEY", value: "first-value" })), 201);
    expect((await errorOf(await call("/secrets", json({ name: "API_KEY", value: "again-value" })))).status).toBe(409);
    await expectOk(await call("/secrets/API_KEY", send("PUT", { value: "second-value" })));
    expect(server.services.secrets.resolveSecretTemplates({ v: "{{secrets.API_KEY}}" })).toEqual({ v: "second-value" });
    expect((await call("/secrets/NOPE", send("PUT", { value: "whatever" }))).status).toBe(404);
    expect((await errorOf(await call("/secrets", json({ name: "1BAD-NAME", value: "value" })))).status).toBe(400);
    expect(await errorOf(await call("/secrets", json({ name: "SHORT", value: "abc" })))).toMatchObject({ status: 400, message: "A secret value needs at least 4 characters" });
    expect((await call("/secrets/API_KEY", { method: "DELETE" })).status).toBe(204);
    expect((await call("/secrets/API_KEY", { method: "DELETE" })).status).toBe(404);
    expect((await expectOk(await call("/secrets", {}))).items).toEqual([]);
    // Values of deleted and replaced secrets stay masked: a running task may still print them.
    expect(server.services.secrets.maskSecrets("first-value second-value")).toBe("*** ***");
  });

  test("the same key decrypts after a restart; another key cannot, and says so instead of failing to start", async () => {
    const first = await startTestApp({ admin: false, workers: 0 });
    const admin = await registerAdmin(first);
    await expectOk(await first.api("/secrets", bearer(admin.access_token, json({ name: "TOKEN", value: VALUE }))), 201);
    const dataDir = first.services.config.dataDir;
    await first.stop(0);

    const again = await startTestApp({ admin: false, workers: 0, dataDir });
    expect(again.services.secrets.resolveSecretTemplates({ t: "{{secrets.TOKEN}}" })).toEqual({ t: VALUE });
    await again.stop(0);

    const otherKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
    const wrong = await startTestApp({ admin: false, workers: 0, dataDir, secretsKey: otherKey });
    expect(wrong.services.secrets.missingSecrets({ t: "{{secrets.TOKEN}}" })).toEqual(["TOKEN"]);
    expect(() => wrong.services.secrets.resolveSecretTemplates({ t: "{{secrets.TOKEN}}" })).toThrow("Secret TOKEN cannot be decrypted: the server's secrets key is not the one they were stored with");
  });
});

describe("resolveSecretTemplates and maskSecrets", () => {
  test("templates resolve anywhere in params; unknown names are named; values are masked in text and JSON", async () => {
    const server = await startTestApp({ admin: false, workers: 0 });
    const store = server.services.secrets;
    store.create("DB_PASSWORD", "p4ss-w0rd-xyz", SYSTEM_ACTOR);
    store.create("TOKEN", VALUE, SYSTEM_ACTOR);
    store.create("TOKEN_PREFIX", VALUE.slice(0, 10), SYSTEM_ACTOR);

    const params = { command: "psql", args: ["--password={{ secrets.DB_PASSWORD }}", "{{secrets.TOKEN}}"], env: { T: "x{{secrets.TOKEN}}y" }, other: "{{inputs.branch}}", n: 3 };
    expect(store.resolveSecretTemplates(params)).toEqual({ command: "psql", args: ["--password=p4ss-w0rd-xyz", VALUE], env: { T: `x${VALUE}y` }, other: "{{inputs.branch}}", n: 3 });
    expect(params.args[0]).toBe("--password={{ secrets.DB_PASSWORD }}"); // the input is not changed
    expect(() => store.resolveSecretTemplates({ a: "{{secrets.NOPE}} {{secrets.ALSO_NOPE}}" })).toThrow("Unknown secrets: NOPE, ALSO_NOPE");

    expect(store.maskSecrets(`login with p4ss-w0rd-xyz and ${VALUE}!`)).toBe("login with *** and ***!");
    // The longer secret is masked whole, not as its prefix secret + a visible rest.
    expect(store.maskSecrets(`token=${VALUE}`)).toBe("token=***");
    expect(store.maskSecrets(`prefix only: ${VALUE.slice(0, 10)}`)).toBe("prefix only: ***");
    expect(store.maskSecrets("nothing secret here")).toBe("nothing secret here");
    expect(store.maskSecrets("regex chars .*+?^${}()|[]\\ stay")).toBe("regex chars .*+?^${}()|[]\\ stay");
    expect(store.maskSecretsDeep<unknown>({ out: [`got ${VALUE}`, 42, null], [VALUE]: true })).toEqual({ out: ["got ***", 42, null], "***": true });
  });

  test("AGENTVINE_SECRETS_KEY is used instead of a key file", async () => {
    const { existsSync } = await import("node:fs");
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
    const server = await startTestApp({ admin: false, workers: 0, secretsKey: key });
    expect(existsSync(join(server.services.config.dataDir, "secrets.key"))).toBe(false);
    server.services.secrets.create("X_TOKEN", "value-1234", SYSTEM_ACTOR);
    expect(server.services.secrets.resolveSecretTemplates("{{secrets.X_TOKEN}}")).toBe("value-1234");
  });
});
