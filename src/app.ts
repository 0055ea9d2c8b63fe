// createApp: middleware, the one error handler, and every feature's routes mounted in one place.
import type { Server } from "bun";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { executionsApi } from "./features/executions/api.ts";
import { queueApi } from "./features/queue/api.ts";
import { systemApi } from "./features/system/api.ts";
import { tasksApi } from "./features/tasks/api.ts";
import type { AppEnv, AppServices } from "./http/context.ts";
import { AppError, errorBody, jsonError } from "./http/errors.ts";
import { metricsText } from "./http/metrics.ts";

export function createApp(services: AppServices) {
  const app = new Hono<AppEnv>();

  app.use(requestId({ headerName: "X-Request-Id" }));
  app.use(async function provideServices(c, next) {
    for (const [key, value] of Object.entries(services)) c.set(key as keyof AppServices, value as never);
    c.set("holdOpen", () => (c.env as Server<unknown> | undefined)?.timeout?.(c.req.raw, 0));
    await next();
  });

  const api = new Hono<AppEnv>();
  api.use(
    bodyLimit({
      maxSize: services.config.maxBodyBytes,
      onError: () => {
        throw new AppError(413, "payload_too_large", `Request body exceeds the limit of ${services.config.maxBodyBytes} bytes`);
      },
    }),
  );
  api.route("/", systemApi);
  api.route("/", tasksApi);
  api.route("/", executionsApi);
  api.route("/", queueApi);
  api.notFound((c) => c.json(errorBody("not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404));

  app.route("/api/v1", api);

  app.get("/metrics", (c) => c.text(metricsText(services), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
  app.get("/", (c) =>
    c.html(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
        `<title>AgentVine</title></head><body style="font-family:system-ui;max-width:40rem;margin:3rem auto;padding:0 1rem">` +
        `<h1>AgentVine ${services.version}</h1><p>The control plane is running.</p><ul>` +
        `<li><a href="/api/v1/health">Health</a></li><li><a href="/api/v1/openapi.json">OpenAPI document</a></li>` +
        `<li><a href="/api/v1/tasks">Tasks (JSON)</a></li><li><a href="/metrics">Metrics</a></li></ul></body></html>`,
    ),
  );

  app.onError((err, c) => {
    if (c.req.path.startsWith("/api/")) return jsonError(c, err);
    const status = err instanceof AppError ? err.status : 500;
    if (status === 500) console.error(`[error] request ${c.get("requestId")}:`, err);
    return c.text(status === 500 ? "Internal error" : err.message, status);
  });
  app.notFound((c) => c.text("Not found", 404));
  return app;
}

export type App = ReturnType<typeof createApp>;
