/** @jsxImportSource hono/jsx */
// GET /: the dashboard page, or its live region alone when the `dashboard` event (or the minute poll) asks.
import { Hono } from "hono";
import { fragment, htmxTarget, page } from "../../pages/render.tsx";
import { DashboardLive, DashboardPage } from "../../../views/dashboard/page.tsx";
import { formTaskTypes, paramFieldsOf } from "../tasks/form.ts";
import { waitingForHumans } from "../controller/inbox-data.ts";
import type { DashboardStats } from "./stats.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The dashboard's figures, one instance per app (set by createApp). */
    dashboard: DashboardStats;
  }
}

export const dashboardRoutes = new Hono().get("/", (c) => {
  // The version is read before the figures: a change after this point reaches the page's stream.
  const version = c.get("live").version;
  const snap = c.get("dashboard").snapshot();
  const workers = { threads: c.get("pool")?.size ?? 0, busy: c.get("pool")?.busyCount ?? 0 };
  const waiting = waitingForHumans(c.get("deps").db);
  if (htmxTarget(c) === "dash-live") return fragment(c, <DashboardLive snap={snap} workers={workers} waitingForHumans={waiting} />);
  const types = formTaskTypes();
  const selected = types.find((t) => t.name === "hello")?.name ?? types[0]?.name ?? "";
  return page(
    c,
    { title: "Dashboard", active: "dashboard" },
    <DashboardPage snap={snap} workers={workers} waitingForHumans={waiting} version={version} newTask={{ types, selected, fields: paramFieldsOf(selected) }} />,
  );
});
