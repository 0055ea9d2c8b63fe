// createApp: middleware, the one error handler, and every feature's routes mounted in one place.
import type { Server } from "bun";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { compress } from "hono/compress";
import { requestId } from "hono/request-id";
import { dashboardRoutes } from "./features/dashboard/routes.tsx";
import { DashboardStats } from "./features/dashboard/stats.ts";
import { auditApi } from "./features/audit/api.ts";
import { authApi } from "./features/auth/api.ts";
import { authPages } from "./features/auth/routes.tsx";
import { apiKeysApi } from "./features/auth/api-keys-api.ts";
import { sameOriginWrites } from "./features/auth/csrf.ts";
import { authenticate, authorize, requireRole } from "./features/auth/middleware.ts";
import { pageGate } from "./features/auth/page-access.ts";
import { accountRateLimit, ipRateLimit } from "./features/auth/request.ts";
import { usersApi } from "./features/auth/users-api.ts";
import { executionsApi } from "./features/executions/api.ts";
import { LiveHub } from "./features/live/hub.ts";
import { liveRoutes } from "./features/live/routes.ts";
import { plansApi } from "./features/plans/api.ts";
import { planRoutes } from "./features/plans/routes.tsx";
import { workerApi } from "./features/worker-api/api.ts";
import { controllerApi } from "./features/controller/api.ts";
import { agentsApi } from "./features/agents/api.ts";
import { AnswerDrafts } from "./features/controller/answer-drafts.ts";
import { waitingForHumans } from "./features/controller/inbox-data.ts";
import { inboxRoutes } from "./features/controller/inbox-routes.tsx";
import { policyRoutes } from "./features/controller/policy-routes.tsx";
import { modelRoutes } from "./features/controller/model-routes.tsx";
import { secretsApi } from "./features/secrets/api.ts";
import { schedulesApi } from "./features/schedules/api.ts";
import { alertsApi } from "./features/alerts/api.ts";
import { emailApi } from "./features/email/api.ts";
import { notificationsApi } from "./features/notifications/api.ts";
import { scheduleRoutes } from "./features/schedules/routes.tsx";
import { alertBanner, alertRoutes } from "./features/alerts/routes.tsx";
import { unreadCount } from "./features/notifications/notifier.ts";
import { notificationPages } from "./features/notifications/routes.tsx";
import { emailPages } from "./features/email/routes.tsx";
import { docsRoutes } from "./features/docs/routes.tsx";
import { systemApi } from "./features/system/api.ts";
import { tasksApi } from "./features/tasks/api.ts";
import { queueApi } from "./features/queue-control/api.ts";
import { queueRoutes } from "./features/queue-control/routes.tsx";
import { taskRoutes } from "./features/tasks/routes.tsx";
import { agentRoutes } from "./features/agents/routes.tsx";
import { workersApi } from "./features/workers/api.ts";
import { workerRoutes } from "./features/workers/routes.tsx";
import { userRoutes } from "./features/auth/users-routes.tsx";
import { apiKeyRoutes } from "./features/auth/api-keys-routes.tsx";
import { auditRoutes } from "./features/audit/routes.tsx";
import { secretRoutes } from "./features/secrets/routes.tsx";
import { chatApi } from "./features/chat/api.ts";
import { chatRoutes } from "./features/chat/routes.tsx";
import { contextApi } from "./features/context/api.ts";
import { contextRoutes } from "./features/context/routes.tsx";
import { assetRoutes } from "./http/assets.ts";
import { corsAllowList } from "./http/cors.ts";
import { jsonNewline } from "./http/json-newline.ts";
import type { AppServices } from "./app-context.ts";
import { errorBody, jsonError } from "./http/errors.ts";
import { isDiskFull } from "./data-dir/disk.ts";
import { AppError } from "./errors.ts";
import { accessOf } from "./http/openapi.ts";
import { htmlError, htmlNotFound } from "./pages/render.tsx";
import { securityHeaders } from "./http/security-headers.ts";
import { renderLogLines } from "../views/tasks/logs.tsx";
import { requestContext } from "./http/request-context.ts";
import { inertBidiHtml } from "./pages/bidi.ts";

export function createApp(services: AppServices) {
  const app = new Hono();

  app.use(requestId({ headerName: "X-Request-Id" }));
  // Every log line of a request carries its req_id and correlation_id; one access line when it is answered.
  app.use(requestContext({ onAnswered: (a) => services.metrics.observeHttp(a) }));
  app.use(securityHeaders({ trustProxy: services.auth.settings.trustProxy }));
  app.use("/api/v1/*", corsAllowList(services.corsOrigins));
  app.use("/api/v1/*", jsonNewline);
  app.use(async function provideServices(c, next) {
    for (const [key, value] of Object.entries(services)) c.set(key as keyof AppServices, value as never);
    c.set("holdOpen", () => (c.env as Server<unknown> | undefined)?.timeout?.(c.req.raw, 0));
    await next();
  });
  app.use(sameOriginWrites);

  const api = new Hono();
  const apiBodyLimit = bodyLimit({
    maxSize: services.config.maxBodyBytes,
    onError: () => {
      throw new AppError(413, "payload_too_large", `Request body exceeds the limit of ${services.config.maxBodyBytes} bytes`);
    },
  });
  // Chat attachments have their own limit per file (checked by the route); the body may hold up to 10.
  const attachmentsBodyLimit = bodyLimit({
    maxSize: services.chat.attachmentMaxBytes * 10 + 64 * 1024,
    onError: () => {
      throw new AppError(413, "payload_too_large", `Attachments may be at most ${services.chat.attachmentMaxBytes} bytes each, 10 per message`);
    },
  });
  api.use(function limitBodies(c, next) {
    return c.req.method === "POST" && /\/chat\/conversations\/[^/]+\/attachments$/.test(c.req.path) ? attachmentsBodyLimit(c, next) : apiBodyLimit(c, next);
  });
  // Who is calling, then whether the matched route's declared rule lets them: every route has one.
  // Signed-in callers are limited per account; the rest (anonymous, or with credentials that failed)
  // per address.
  api.use(authenticate({ optional: true }));
  api.use(ipRateLimit);
  api.use(accountRateLimit);
  api.use(authorize(accessOf, "/api/v1"));
  api.route("/", systemApi);
  api.route("/", tasksApi);
  api.route("/", queueApi);
  api.route("/", executionsApi);
  api.route("/", workerApi);
  api.route("/", controllerApi);
  api.route("/", agentsApi);
  api.route("/", workersApi);
  api.route("/", plansApi);
  api.route("/", authApi);
  api.route("/", usersApi);
  api.route("/", apiKeysApi);
  api.route("/", auditApi);
  api.route("/", secretsApi);
  api.route("/", chatApi);
  api.route("/", contextApi);
  api.route("/", schedulesApi);
  api.route("/", alertsApi);
  api.route("/", emailApi);
  api.route("/", notificationsApi);

  app.route("/api/v1", api);

  app.get("/metrics", authenticate(), requireRole("viewer"), async (c) => c.body(await services.metrics.scrape(), 200, { "content-type": services.metrics.contentType }));

  // The web UI: server-rendered pages, their live-update stream, and the embedded static assets.
  // Log lines go out as HTML: direction controls in them made inert, as in every page.
  const live = new LiveHub(services.deps.bus, (lines) => inertBidiHtml(renderLogLines(lines)));
  const dashboard = new DashboardStats(services.deps);
  const drafts = new AnswerDrafts(services.deps.bus);
  const waiting = () => waitingForHumans(services.deps.db);
  const ui = new Hono();
  ui.use(async function uiServices(c, next) {
    c.set("live", live);
    c.set("dashboard", dashboard);
    c.set("drafts", drafts);
    c.set("waitingForHumans", waiting);
    c.set("opsChrome", (userId: string) => ({ banner: alertBanner(c), unread: unreadCount(services.deps.db, userId) }));
    await next();
  });
  // Pages and fragments are gzipped; the event stream (no-transform) and the pre-gzipped assets are not.
  const gzip = compress({ encoding: "gzip" });
  const pageAuth = authenticate({ optional: true });
  const formLimit = bodyLimit({
    maxSize: services.config.maxBodyBytes,
    onError: () => {
      throw new AppError(413, "payload_too_large", `Request body exceeds the limit of ${services.config.maxBodyBytes} bytes`);
    },
  });
  // Mounted at the root, these would also see unmatched /api paths: the API keeps its own behaviour.
  ui.use(function gzipPages(c, next) {
    return c.req.path.startsWith("/api/") ? next() : gzip(c, next);
  });
  ui.use(function limitForms(c, next) {
    return c.req.path.startsWith("/api/") ? next() : formLimit(c, next);
  });
  ui.use(function signedInPages(c, next) {
    return c.req.path.startsWith("/api/") ? next() : pageAuth(c, next);
  });
  ui.use(function pageRules(c, next) {
    return c.req.path.startsWith("/api/") ? next() : pageGate(c, next);
  });
  ui.route("/", assetRoutes);
  ui.route("/", liveRoutes);
  ui.route("/", dashboardRoutes);
  ui.route("/tasks", taskRoutes);
  ui.route("/tasks", agentRoutes);
  ui.route("/queue", queueRoutes);
  ui.route("/plans", planRoutes);
  ui.route("/workers", workerRoutes);
  ui.route("/inbox", inboxRoutes);
  ui.route("/policies", policyRoutes);
  ui.route("/settings/models", modelRoutes);
  ui.route("/users", userRoutes);
  ui.route("/api-keys", apiKeyRoutes);
  ui.route("/audit", auditRoutes);
  ui.route("/secrets", secretRoutes);
  ui.route("/chat", chatRoutes);
  ui.route("/context", contextRoutes);
  ui.route("/schedules", scheduleRoutes);
  ui.route("/alerts", alertRoutes);
  ui.route("/", notificationPages);
  ui.route("/", emailPages);
  ui.route("/", docsRoutes);
  ui.route("/", authPages);
  app.route("/", ui);

  app.onError((err, c) => {
    // A write that failed for want of space: /health says so until one works again.
    if (isDiskFull(err)) c.get("disk")?.failed(`${c.req.method} ${c.req.path}`, err);
    if (c.req.path.startsWith("/api/")) return jsonError(c, err);
    return htmlError(c, err);
  });
  // A sub-app's notFound is not consulted once it is mounted with app.route(), so the API's JSON 404 lives here.
  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? c.json(errorBody("not_found", `No route for ${c.req.method} ${c.req.path}`), 404)
      : htmlNotFound(c),
  );
  return app;
}

