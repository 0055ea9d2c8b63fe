// A local Weights & Biases API on loopback for tests, speaking what the wandb SDK speaks: HTTP basic auth
// `api:<key>`, GraphQL `viewer` and `upsertBucket` at /graphql, and each run's
// /files/<entity>/<project>/<run>/file_stream (files by name with an offset and lines; `complete`, `exitcode`).

export interface FakeRun {
  entity: string;
  project: string;
  name: string;
  displayName?: string;
  groupName?: string;
  jobType?: string;
  tags?: string[];
  config: Record<string, { value: unknown }>;
  /** Lines by offset, as a file_stream post places them (a re-post of an offset overwrites). */
  files: Record<string, string[]>;
  complete: boolean;
  exitcode?: number;
}

export interface FakeWandb {
  url: string;
  runs: Map<string, FakeRun>;
  problems: string[];
  /** `ok` serves; a number answers that status to everything (e.g. 503: W&B is down). */
  mode: "ok" | number;
  /** Resolves once `n` runs are complete. */
  waitForComplete(n: number, timeoutMs?: number): Promise<FakeRun[]>;
  stop(): void;
}

export function startFakeWandb(opts: { apiKey: string; entity: string }): FakeWandb {
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const complete = () => [...fake.runs.values()].filter((r) => r.complete);
  const fake: FakeWandb = {
    url: "",
    runs: new Map(),
    problems: [],
    mode: "ok",
    waitForComplete(n, timeoutMs = 20_000) {
      if (complete().length >= n) return Promise.resolve(complete());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${complete().length} of ${n} runs completed`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve(complete())) });
      });
    },
    stop: () => server.stop(true),
  };
  const expectedAuth = `Basic ${Buffer.from(`api:${opts.apiKey}`).toString("base64")}`;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      if (fake.mode !== "ok") return new Response("unavailable", { status: fake.mode });
      if (req.headers.get("authorization") !== expectedAuth) return Response.json({ error: "unauthorized" }, { status: 401 });
      const url = new URL(req.url);
      const body = (await req.json()) as any;
      if (url.pathname === "/graphql") {
        const query = String(body.query ?? "");
        if (/query Viewer/.test(query)) return Response.json({ data: { viewer: { id: "u1", entity: opts.entity } } });
        if (/mutation UpsertBucket/.test(query)) {
          const v = body.variables ?? {};
          if (!v.name || !v.project || !v.entity) return Response.json({ errors: [{ message: "name, project and entity are required" }] });
          let config: Record<string, { value: unknown }> = {};
          try {
            config = v.config ? JSON.parse(v.config) : {};
          } catch {
            fake.problems.push("config is not a JSONString");
          }
          const existing = fake.runs.get(v.name);
          fake.runs.set(v.name, {
            entity: v.entity,
            project: v.project,
            name: v.name,
            displayName: v.displayName,
            groupName: v.groupName,
            jobType: v.jobType,
            tags: v.tags,
            config,
            files: existing?.files ?? {},
            complete: existing?.complete ?? false,
          });
          return Response.json({ data: { upsertBucket: { bucket: { id: `b-${v.name}`, name: v.name, project: { name: v.project, entity: { name: v.entity } } }, inserted: !existing } } });
        }
        return Response.json({ errors: [{ message: "unknown operation" }] });
      }
      const m = /^\/files\/([^/]+)\/([^/]+)\/([^/]+)\/file_stream$/.exec(url.pathname);
      if (!m) return new Response("not found", { status: 404 });
      const run = fake.runs.get(decodeURIComponent(m[3]!));
      if (!run || run.entity !== decodeURIComponent(m[1]!) || run.project !== decodeURIComponent(m[2]!)) return Response.json({ error: "no such run" }, { status: 404 });
      for (const [name, chunk] of Object.entries((body.files ?? {}) as Record<string, { offset: number; content: string[] }>)) {
        if (!Number.isInteger(chunk.offset) || !Array.isArray(chunk.content)) {
          fake.problems.push(`${name}: offset and content are required`);
          continue;
        }
        const lines = (run.files[name] ??= []);
        chunk.content.forEach((line, i) => (lines[chunk.offset + i] = line));
      }
      if (body.complete === true) {
        run.complete = true;
        run.exitcode = body.exitcode;
        for (const w of waiters.splice(0)) if (complete().length >= w.n) w.resolve();
        else waiters.push(w);
      }
      return Response.json({ limits: {} });
    },
  });
  fake.url = `http://127.0.0.1:${server.port}`;
  return fake;
}
