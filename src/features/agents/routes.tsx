/** @jsxImportSource hono/jsx */
// The agent panel of a task page (GET /tasks/:id/agent, the fragment its live refresh swaps in) and its
// Pause / Resume buttons (operators and up; without JS the form posts and comes back to the task page).
import { Hono, type Context } from "hono";
import { conflict, notFound } from "../../errors.ts";
import { flash, fragment, isHtmx, toast } from "../../pages/render.tsx";
import { AgentPanelBody } from "../../../views/agents/panel.tsx";
import { audited } from "../audit/service.ts";
import { hasRole } from "../auth/middleware.ts";
import { actingOf } from "../auth/request.ts";
import { agentPanel } from "./panel-data.ts";

const canAct = (c: Context) => hasRole(c.get("principal"), "operator");

function panelOf(c: Context, id: string) {
  const panel = agentPanel(c.get("deps").db, id);
  if (!panel) throw notFound("coding-agent task", id);
  return panel;
}

function control(paused: boolean) {
  return (c: Context) => {
    const id = c.req.param("id")!;
    const panel = panelOf(c, id);
    if (!["queued", "running", "waiting_input", "pending"].includes(panel.status)) throw conflict(`the task is ${panel.status}: there is nothing to ${paused ? "pause" : "resume"}`);
    const acting = actingOf(c);
    c.get("agents").setPaused(id, paused, c.get("principal")?.username ?? null);
    audited(c.get("deps"), acting, paused ? "task.paused" : "task.resumed", { type: "task", id });
    if (!paused) {
      // The agent waits on a "resume?" question while paused: answering it lets it go on at once.
      const open = c.get("deps").db.sqlite.query("SELECT id FROM worker_requests WHERE task_id = ? AND status = 'open' AND category = 'pause'").all(id) as Array<{ id: string }>;
      for (const r of open) c.get("controller").respond(r.id, "resume", acting);
    }
    const message = paused ? "Paused: the agent stops before its next step." : "Resumed.";
    if (!isHtmx(c)) {
      flash(c, "success", message);
      return c.redirect(`/tasks/${id}`, 303);
    }
    toast(c, "success", message);
    return fragment(c, <AgentPanelBody panel={panelOf(c, id)} canAct={canAct(c)} />);
  };
}

export const agentRoutes = new Hono()
  .get("/:id/agent", (c) => fragment(c, <AgentPanelBody panel={panelOf(c, c.req.param("id"))} canAct={canAct(c)} />))
  .post("/:id/agent/pause", control(true))
  .post("/:id/agent/resume", control(false));
