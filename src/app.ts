// createApp: middleware, the one error handler, and every feature's routes mounted in one place.
import type { Server } from "bun";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { executionsApi } from "./features/executions/api.ts";
import { plansApi } from "./features/plans/api.ts";
import { queueApi } from "./features/queue/api.ts";
import { systemApi } from "./features/system/api.ts";
import { tasksApi } from "./features/tasks/api.ts";
import type { AppEnv, AppServices } from "./http/context.ts";
import { AppError, errorBody, jsonError } from "./http/errors.ts";
import { metricsText } from "./http/metrics.ts";
import { TASK_TYPES } from "./task-types/index.ts";
import faviconPath from "../public/favicon.svg" with { type: "file" };
import { HomePage } from "../views/home.tsx";
import { enabled, logger } from "./log.ts";

const log = logger("http");

export function createApp(services: AppServices) {
  const app = new Hono<AppEnv>();

  app.use(requestId({ headerName: "X-Request-Id" }));
  app.use(async function accessLog(c, next) {
    if (!enabled("debug")) return next();
    const started = performance.now();
    await next();
    log.debug(`${c.req.method} ${c.req.path} ${c.res.status} ${(performance.now() - started).toFixed(1)}ms id=${c.get("requestId")}`);
  });
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
  api.route("/", plansApi);

  app.route("/api/v1", api);

  app.get("/metrics", (c) => c.text(metricsText(services), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
  app.get("/favicon.svg", () => new Response(Bun.file(faviconPath), { headers: { "content-type": "image/svg+xml", "cache-control": "public, max-age=86400" } }));
  app.get("/", (c) => c.html(`<!doctype html>${HomePage({ version: services.version, taskTypes: [...TASK_TYPES.keys()] })}`));

  app.onError((err, c) => {
    if (c.req.path.startsWith("/api/")) return jsonError(c, err);
    const status = err instanceof AppError ? err.status : 500;
    if (status === 500) log.error(`request ${c.get("requestId")} failed:`, err);
    return c.text(status === 500 ? "Internal error" : err.message, status);
  });
  // A sub-app's notFound is not consulted once it is mounted with app.route(), so the API's JSON 404 lives here.
  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? c.json(errorBody("not_found", `No route for ${c.req.method} ${c.req.path}`), 404)
      : c.text("Not found", 404),
  );
  return app;
}

export type App = ReturnType<typeof createApp>;
