// A webhook receiver on loopback for tests: records every POST (headers and body) and lets a test wait for
// the ones it expects; it can answer an error to the first requests to show the sender retries.
export interface Received {
  event: string | null;
  delivery: string | null;
  signature: string | null;
  path: string;
  raw: string;
  body: Record<string, unknown>;
}

export function startWebhookReceiver(options: { failFirst?: number; status?: () => number } = {}) {
  const received: Received[] = [];
  const waiters: Array<{ check: () => boolean; resolve: () => void }> = [];
  let fail = options.failFirst ?? 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const raw = await req.text();
      const status = options.status?.() ?? (fail-- > 0 ? 503 : 200);
      received.push({
        event: req.headers.get("x-agentvine-event"),
        delivery: req.headers.get("x-agentvine-delivery"),
        signature: req.headers.get("x-agentvine-signature"),
        path: new URL(req.url).pathname,
        raw,
        body: JSON.parse(raw) as Record<string, unknown>,
      });
      for (const w of [...waiters]) if (w.check()) w.resolve();
      return new Response(null, { status });
    },
  });
  return {
    url: (path: string) => `http://127.0.0.1:${server.port}${path}`,
    received,
    /** Resolves once `check` holds over what arrived (checked at each arrival; no polling). */
    until(check: (r: Received[]) => boolean, timeoutMs = 20_000): Promise<void> {
      if (check(received)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`webhooks not received in time: got ${received.length}`)), timeoutMs);
        waiters.push({ check: () => check(received), resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    stop: () => server.stop(true),
  };
}
