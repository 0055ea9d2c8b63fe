// Helpers for tests that run AgentVine as a real process: spawn, read the URL it prints, stop it.
import type { Subprocess } from "bun";

export interface ServerProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  output: () => string;
  /** Resolves with the output so far once it matches `re` (stdout and stderr), bounded by `timeoutMs`. */
  waitForOutput: (re: RegExp, timeoutMs?: number) => Promise<string>;
}

/** Starts `cmd … serve --port 0` and resolves with the URL it prints (bounded by `timeoutMs`). */
export async function spawnServer(cmd: string[], opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): Promise<ServerProcess> {
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: opts.cwd, ...opts.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  const grew = () => waiters.forEach((w) => w());
  void (async () => {
    for await (const chunk of proc.stderr as unknown as AsyncIterable<Uint8Array>) {
      err += new TextDecoder().decode(chunk);
      grew();
    }
  })();
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let url: string | undefined;
  while (!url) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`server did not print its URL in time\nstdout: ${out}\nstderr: ${err}`);
    const chunk = await Promise.race([reader.read(), proc.exited.then(() => ({ done: true, value: undefined }))]);
    if (chunk.done && !chunk.value) throw new Error(`server exited (${proc.exitCode}) before listening\nstdout: ${out}\nstderr: ${err}`);
    if (chunk.value) out += decoder.decode(chunk.value);
    url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
  }
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      out += decoder.decode(value);
      grew();
    }
  })();
  const output = () => `${out}\n${err}`;
  const waitForOutput = (re: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (!re.test(output())) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(output());
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no output matching ${re} within ${timeoutMs} ms:\n${output()}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { proc, url, output, waitForOutput };
}

/** The password of the admin `createAdminKey` makes: passes the rules (long, not common). */
export const ADMIN_PASSWORD = "violet tractor umbrella 42";

/**
 * Makes the admin and an `api` key of it the way an operator would, with the program itself on the
 * data dir (with or without a server running on it): `user create admin --admin --password-stdin`,
 * then `apikey create NAME --scope api --user admin`, which prints the key alone on stdout.
 * `cmd` runs the program (the binary, or bun src/main.ts); `dataDir` defaults to `cwd`/data.
 */
export function createAdminKey(cmd: string[], opts: { cwd: string; dataDir?: string; env?: Record<string, string>; name?: string }): string {
  const env = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: opts.cwd, ...opts.env };
  const dir = opts.dataDir ? ["--data-dir", opts.dataDir] : [];
  const run = (args: string[], stdin?: string) => {
    const r = Bun.spawnSync([...cmd, ...args, ...dir], { cwd: opts.cwd, env, stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin) });
    if (r.exitCode !== 0) throw new Error(`${args.slice(0, 2).join(" ")} exited ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return { out: r.stdout.toString().trim(), err: r.stderr.toString() };
  };
  const created = run(["user", "create", "admin", "--admin", "--password-stdin"], `${ADMIN_PASSWORD}\n`);
  if (!/^created admin 'admin'/.test(created.out)) throw new Error(`user create printed: ${created.out}`);
  const key = run(["apikey", "create", opts.name ?? "e2e", "--scope", "api", "--user", "admin"]).out;
  if (!/^avk_\S+$/.test(key)) throw new Error(`apikey create printed: ${key}`);
  return key;
}

/** Waits until GET /api/v1/health answers 200 (the threads are up), bounded. */
export async function waitHealthy(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/api/v1/health`).catch(() => null);
    if (res?.ok) return;
    if (Date.now() > deadline) throw new Error(`${url} not healthy after ${timeoutMs} ms (last status ${res?.status})`);
    await Bun.sleep(20); // polling a starting server; there is no event to wait on from outside
  }
}
