// The shape of the code, checked with the tests (test/shape.test.ts): no import circles, and every arrow
// points down the layers drawn in docs/ARCHITECTURE.md. A rule broken here is a design question, not lint.
const BASE = "^src/(errors|log|version)\\.ts$|^src/(data-dir|db|events|queue|http|llm|sandbox|masking)/";
const notTypeOnly = { dependencyTypesNot: ["type-only"] };

module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "A circle means two modules are one; split the shared part out.", from: {}, to: { circular: true } },
    {
      name: "base-stays-low",
      severity: "error",
      comment: "db, events, queue, http, data-dir, errors and log know nothing of the layers that use them.",
      from: { path: BASE },
      to: { path: "^src/(engine|thread-pool|task-types|features|pages|remote-worker|cli|client)/|^src/(app|app-context|server|main|config)\\.ts$|^views/" },
    },
    {
      name: "threads-know-no-server",
      severity: "error",
      comment: "The thread pool and task types run in the server and in the remote worker alike: no engine, no features, no database.",
      from: { path: "^src/(thread-pool|task-types)/" },
      to: { path: "^src/(engine|features|pages|remote-worker|cli|client|db/client|queue)|^src/(app|app-context|server|main)\\.ts$|^views/" },
    },
    {
      name: "engine-below-features",
      severity: "error",
      comment: "The engine is the task lifecycle: features call it, never the other way round, and it does not speak HTTP.",
      from: { path: "^src/engine/" },
      to: { path: "^src/(features|pages|remote-worker|cli|client|http)/|^src/(app|app-context|server|main)\\.ts$|^views/|^hono" },
    },
    {
      name: "remote-worker-is-a-client",
      severity: "error",
      comment: "The remote worker talks to the server over HTTP only: it never imports the server's engine, features or database.",
      from: { path: "^src/remote-worker/" },
      to: { path: "^src/(engine|features|pages|db/client|queue|http)/|^src/(app|app-context|server)\\.ts$" },
    },
    {
      name: "services-without-hono",
      severity: "error",
      comment: "Services take their dependencies explicitly and throw AppError; only routes and middleware speak Hono.",
      from: { path: "^src/features/[^/]+/(service|.*-service)\\.ts$" },
      to: { path: "^hono" },
    },
    {
      name: "views-touch-no-database",
      severity: "error",
      comment: "Views render what routes give them: no database, no engine, no services (types are fine).",
      from: { path: "^views/" },
      to: { path: "^src/(db/client|engine|queue)|^src/features/[^/]+/(service|api|routes)", ...notTypeOnly },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "node_modules|\\.test\\.tsx?$" },
    doNotFollow: { path: "node_modules" },
  },
};
