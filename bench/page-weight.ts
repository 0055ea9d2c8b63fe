// The weight of the dashboard: the HTML and every stylesheet, script and icon it references, as
// transferred to a browser that accepts gzip (what the server sends) and raw. A real server in this
// process, with a few dozen tasks so the page shows what it would in use. Pages need a signed-in user:
// every request carries an admin's API key (Bearer), which the pages accept like the session cookie.
//
//   bun bench/page-weight.ts [--path /]
import { parseArgs } from "node:util";
import { embeddedServerOptions, startServer } from "../src/server.ts";
import { adminKey, bearer } from "./accounts.ts";
import { cleanupTemp, table, tempDir } from "./lib.ts";

const { values: args } = parseArgs({ options: { path: { type: "string", default: "/" } } });
const TARGET_KB = 100;

const dataDir = tempDir();
const server = await startServer(
  embeddedServerOptions(dataDir, {
    workers: 2,
    shutdownGraceSeconds: 1,
  }),
);
const key = await adminKey(server.services.auth);

interface Weight {
  what: string;
  url: string;
  type: string;
  raw: number;
  sent: number;
  encoding: string;
}

/** One resource, fetched as a browser would (gzip accepted, transferred bytes kept) and raw. */
async function weigh(what: string, url: string): Promise<Weight & { body: string }> {
  const gz = await fetch(url, { headers: bearer(key, { "accept-encoding": "gzip" }), decompress: false, redirect: "manual" });
  if (!gz.ok) throw new Error(`${url}: ${gz.status} ${gz.headers.get("location") ?? ""}`);
  const sent = (await gz.arrayBuffer()).byteLength;
  const plain = await fetch(url, { headers: bearer(key, { "accept-encoding": "identity" }) });
  const body = await plain.text();
  return {
    what,
    url: url.replace(server.url, ""),
    type: (gz.headers.get("content-type") ?? "").split(";")[0]!,
    raw: Buffer.byteLength(body),
    sent,
    encoding: gz.headers.get("content-encoding") ?? "none",
    body,
  };
}

try {
  // Some history for the page to show: tasks through the local threads, a few of them failing.
  const submit = (i: number) =>
    fetch(`${server.url}/api/v1/tasks`, {
      method: "POST",
      headers: bearer(key, { "content-type": "application/json" }),
      body: JSON.stringify(
        i % 7 === 0
          ? { title: `Failing check ${i}`, task_type: "shell", params: { command: "false" } }
          : { title: `Greeting number ${i}`, task_type: "hello", params: { name: `user ${i}` } },
      ),
    }).then(async (r) => {
      if (r.status !== 201) throw new Error(`POST /api/v1/tasks answered ${r.status}: ${await r.text()}`);
      return r.json() as Promise<{ id: string }>;
    });
  const tasks = await Promise.all(Array.from({ length: 40 }, (_, i) => submit(i)));
  await Promise.all(tasks.map((t) => fetch(`${server.url}/api/v1/tasks/${t.id}/wait?timeout=30`, { headers: bearer(key) }).then((r) => r.arrayBuffer())));

  const page = await weigh("HTML", `${server.url}${args.path}`);
  const refs = [
    ...page.body.matchAll(/<link[^>]+href="([^"]+)"[^>]*>/g),
    ...page.body.matchAll(/<script[^>]+src="([^"]+)"[^>]*>/g),
    ...page.body.matchAll(/<img[^>]+src="([^"]+)"[^>]*>/g),
  ]
    .map((m) => m[1]!)
    .filter((href, i, all) => href.startsWith("/") && all.indexOf(href) === i);
  const rows: Weight[] = [page];
  for (const href of refs) rows.push(await weigh(href.split("/").at(-1)!.replace(/\.[0-9a-f]{12}\./, "."), `${server.url}${href}`));

  const total = { raw: rows.reduce((a, r) => a + r.raw, 0), sent: rows.reduce((a, r) => a + r.sent, 0) };
  const kb = (n: number) => Math.round((n / 1024) * 10) / 10;
  console.log(`# page-weight — ${args.path} with 40 tasks, signed in as an admin, bun ${Bun.version}\n`);
  table(
    ["resource", "type", "raw KB", "sent KB", "encoding"],
    [...rows.map((r) => [r.what, r.type, kb(r.raw), kb(r.sent), r.encoding]), ["total", `${rows.length} requests`, kb(total.raw), kb(total.sent), ""]],
  );
  console.log(`\n"sent": bytes on the wire to a browser that accepts gzip (the first visit; assets are then cached for a year). Target: < ${TARGET_KB} KB.`);
  if (total.sent > TARGET_KB * 1024) {
    console.log(`** over the target of ${TARGET_KB} KB **`);
    process.exitCode = 1;
  }
} finally {
  await server.stop(1);
  cleanupTemp();
}
