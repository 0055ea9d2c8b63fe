/** @jsxImportSource hono/jsx */
// /inbox: the questions waiting for a person, answered in place (operators and up), the model's answers
// as they stream, the recently resolved; /inbox/badge is the nav's count. An answer that lost the race
// (someone else, or the deadline, was first) says what happened and takes the card away.
import { Hono, type Context } from "hono";
import { AppError, notFound, zodDetails } from "../../errors.ts";
import { actionDone, fragment, htmxTarget, isHtmx, page, toast } from "../../pages/render.tsx";
import { AutomatedQuestionsBody, HumanQuestionsBody, InboxCount, InboxPage, ResolvedQuestionsBody } from "../../../views/controller/inbox.tsx";
import { QuestionCard } from "../../../views/controller/question.tsx";
import { TaskQuestionsBody } from "../../../views/controller/task-questions.tsx";
import { hasRole } from "../auth/middleware.ts";
import { actingOf } from "../auth/request.ts";
import type { AnswerDrafts } from "./answer-drafts.ts";
import { automatedQuestions, humanQuestions, inboxData, questionView, resolvedQuestions, taskQuestions, waitingForHumans, type DraftOf } from "./inbox-data.ts";
import { getRequestRow } from "./requests.ts";
import { RespondBody } from "./schemas.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** The model's answers as they stream in, one instance per app (set by createApp). */
    drafts: AnswerDrafts;
  }
}

type Ctx = Context;

export const draftsOf = (c: Ctx): DraftOf => (id) => c.get("drafts")?.get(id) ?? "";
export const canAnswer = (c: Ctx) => hasRole(c.get("principal"), "operator");

/** The content of the task page's question panel (its refresh, and the answer to an answer given there). */
export function taskQuestionsPanel(c: Ctx, taskId: string, error?: { requestId: string; message: string }) {
  return <TaskQuestionsBody questions={taskQuestions(c.get("deps").db, taskId, draftsOf(c))} canAnswer={canAnswer(c)} error={error} />;
}

export const inboxRoutes = new Hono()
  .get("/", (c) => {
    // The version first: a question asked after this point reaches the page's stream.
    const version = c.get("live").version;
    const { db } = c.get("deps");
    const answerer = canAnswer(c);
    // A live section asks for its content (it stays in the page: see views/controller/inbox.tsx).
    switch (htmxTarget(c)) {
      case "inbox-human": {
        const human = humanQuestions(db);
        return fragment(c, <HumanQuestionsBody items={human.items} total={human.total} canAnswer={answerer} />);
      }
      case "inbox-automated": {
        const automated = automatedQuestions(db, draftsOf(c));
        return fragment(c, <AutomatedQuestionsBody items={automated.items} total={automated.total} canAnswer={answerer} />);
      }
      case "inbox-resolved":
        return fragment(c, <ResolvedQuestionsBody items={resolvedQuestions(db)} />);
    }
    return page(c, { title: "Inbox", active: "inbox" }, <InboxPage data={inboxData(db, draftsOf(c))} canAnswer={answerer} version={version} />);
  })
  .get("/badge", (c) => fragment(c, <InboxCount count={waitingForHumans(c.get("deps").db)} />))
  .post("/:id/respond", async (c) => {
    const id = c.req.param("id");
    const { db } = c.get("deps");
    const row = getRequestRow(db, id);
    if (!row) throw notFound("request", id);
    const form = await c.req.parseBody();
    const from = form.from === "task" ? "task" : "inbox";
    const back = from === "task" ? `/tasks/${row.task_id}` : "/inbox";
    /** The answer did not validate: the card (or the task's panel) again with the reason by the box (422). */
    const again = (message: string) => {
      if (!isHtmx(c)) return actionDone(c, { message, redirect: back, level: "error" });
      toast(c, "error", message);
      const body =
        from === "task" ? taskQuestionsPanel(c, row.task_id, { requestId: id, message }) : <QuestionCard q={questionView(db, row, draftsOf(c))} from="inbox" canAnswer error={message} />;
      return fragment(c, body, 422);
    };
    const parsed = RespondBody.safeParse({ answer: typeof form.answer === "string" ? form.answer : "" });
    if (!parsed.success) return again(`The answer ${zodDetails(parsed.error)[0]?.message ?? "is not valid"}.`);
    try {
      c.get("controller").respond(id, parsed.data.answer, actingOf(c));
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.status === 400) return again(err.details?.[0] ? `The answer must be ${err.details[0].message}.` : err.message);
      if (err.status !== 409) throw err;
      // Someone else, or the deadline, won: say what happened; the question is no longer there to answer.
      if (!isHtmx(c)) return actionDone(c, { message: err.message, redirect: back, level: "error" });
      toast(c, "error", err.message);
      c.header("X-Request-Status", getRequestRow(db, id)?.status ?? "gone");
      return fragment(c, from === "task" ? taskQuestionsPanel(c, row.task_id) : null);
    }
    const title = db.sqlite.query<{ title: string }, [string]>("SELECT title FROM tasks WHERE id = ?").get(row.task_id)?.title ?? "the task";
    return actionDone(c, {
      message: `Answered “${parsed.data.answer.length > 80 ? `${parsed.data.answer.slice(0, 80)}…` : parsed.data.answer}”: “${title}” carries on`,
      redirect: back,
      body: from === "task" ? taskQuestionsPanel(c, row.task_id) : null,
    });
  });
