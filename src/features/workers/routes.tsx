/** @jsxImportSource hono/jsx */
// /workers: the workers pages — the filterable grid with stats, a worker's page with its load and work,
// and the drain action (admins). Each GET answers the full page, or the fragment an htmx request targets.
import { Hono, type Context } from "hono";
import { WORKER_STATUSES, WORKER_TYPES, type WorkerStatus, type WorkerType } from "../../db/schema.ts";
import { actionDone, fragment, htmxTarget, page } from "../../pages/render.tsx";
import { WorkerList, WorkersPage, type WorkerFilters } from "../../../views/workers/list.tsx";
import { WorkerMain, WorkerPage } from "../../../views/workers/detail.tsx";
import { audited } from "../audit/service.ts";
import { hasRole } from "../auth/middleware.ts";
import { actingOf } from "../auth/request.ts";
import { runningTasks, workerDetail, workerStats } from "./page-data.ts";
import { drainWorker, getWorker, listWorkers, removeWorker, type WorkerDeps } from "./service.ts";

type Ctx = Context;

const PER_PAGE = 48;
const CAPABILITY = /^[a-z0-9][a-z0-9._:-]{0,62}$/;

/** The registry's dependencies, with the server's clock (as the JSON API uses them). */
const registryOf = (c: Ctx): WorkerDeps => ({ ...c.get("deps"), clock: c.get("auth").clock });

/** Filters from the query string, leniently: a value that is not valid is ignored, not an error page. */
function filtersOf(c: Ctx): WorkerFilters {
  const q = c.req.query();
  const page = Number(q.page);
  return {
    status: (WORKER_STATUSES as readonly string[]).includes(q.status ?? "") ? q.status : undefined,
    worker_type: (WORKER_TYPES as readonly string[]).includes(q.worker_type ?? "") ? q.worker_type : undefined,
    capability: q.capability && CAPABILITY.test(q.capability) ? q.capability : undefined,
    page: Number.isInteger(page) && page >= 1 ? Math.min(page, 1_000_000) : 1,
    per_page: PER_PAGE,
  };
}

const canDrain = (c: Ctx) => hasRole(c.get("principal"), "admin");

export const workerRoutes = new Hono()
  .get("/", (c) => {
    const version = c.get("live").version;
    const deps = registryOf(c);
    const filters = filtersOf(c);
    const result = listWorkers(deps, {
      page: filters.page,
      per_page: filters.per_page,
      status: filters.status ? [filters.status as WorkerStatus] : undefined,
      worker_type: filters.worker_type as WorkerType | undefined,
      capability: filters.capability ? [filters.capability] : undefined,
    });
    const list = {
      filters,
      items: result.items,
      total: result.total,
      stats: workerStats(deps),
      running: runningTasks(deps.db, result.items.map((w) => w.id)),
    };
    if (htmxTarget(c) === "worker-list") return fragment(c, <WorkerList {...list} />);
    return page(c, { title: "Workers", active: "workers" }, <WorkersPage {...list} version={version} />);
  })
  .get("/:id", (c) => {
    const version = c.get("live").version;
    const deps = registryOf(c);
    const detail = workerDetail(deps, getWorker(deps, c.req.param("id")));
    if (htmxTarget(c) === "worker-main") return fragment(c, <WorkerMain detail={detail} canDrain={canDrain(c)} />);
    return page(c, { title: detail.worker.name, active: "workers" }, <WorkerPage detail={detail} canDrain={canDrain(c)} version={version} />);
  })
  // Admins only (the page gate's rule for POST /workers/*): the JSON API's DELETE /api/v1/workers/:id.
  .post("/:id/drain", (c) => {
    const id = c.req.param("id");
    const deps = registryOf(c);
    const { worker, released } = drainWorker(deps, id);
    audited(c.get("deps"), actingOf(c), "worker.drained", { type: "worker", id }, { released });
    const returned = released === 1 ? "1 work order returned to the queue" : `${released} work orders returned to the queue`;
    return actionDone(c, {
      message: `Worker “${worker.name}” drained; ${returned}`,
      redirect: `/workers/${id}`,
      body: <WorkerMain detail={workerDetail(deps, worker)} canDrain={canDrain(c)} />,
    });
  })
  .post("/:id/remove", (c) => {
    const id = c.req.param("id");
    const worker = removeWorker(registryOf(c), id);
    audited(c.get("deps"), actingOf(c), "worker.removed", { type: "worker", id }, { name: worker.name });
    return actionDone(c, { message: `Worker “${worker.name}” removed from the registry`, redirect: "/workers" });
  });
