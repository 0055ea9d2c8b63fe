// The context manager: what the LLM is told when it answers a question for a task — one function per
// source (the task, its plan run and upstream results, its earlier questions, the conversation, the context
// documents), each a titled section, fitted into a stated token budget with what was left out said. Secrets are masked in
// everything a section holds. The chat and context-documents feature adds its sources the same way.
import type { Db } from "../../db/client.ts";
import { getTaskRecord, type TaskRecord } from "../../engine/task-record.ts";
import { estimateTokens } from "../../llm/index.ts";
import { documentsForContext } from "../context/for-agents.ts";

export interface Masker {
  maskSecrets(text: string): string;
  maskSecretsDeep<T>(value: T): T;
}

export interface ContextSection {
  /** Stable id: what `context_used` on the request lists. */
  id: string;
  title: string;
  text: string;
}

/** A source: the sections it contributes for a question of `task` (none is fine). */
export type ContextSource = (input: { db: Db; task: TaskRecord; requestId: string; question: string }) => ContextSection[];

const json = (v: unknown) => JSON.stringify(v, null, 2);
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}\n… [${text.length - max} more characters]` : text);

/** The task itself: what it is, its inputs, where it works. */
export const taskSource: ContextSource = ({ task }) => {
  const lines = [
    `Title: ${task.title}`,
    task.description ? `Description: ${task.description}` : null,
    `Type: ${task.task_type}`,
    `Permission level: ${task.permission_level} (${task.permission_level === "read" ? "may not change the repository" : task.permission_level === "write" ? "may edit and commit on its own branch" : "may also push and open a pull request"})`,
    task.repository_url ? `Repository: ${task.repository_url}${task.branch_name ? ` (branch ${task.branch_name})` : ""}` : null,
    task.issue_number ? `Issue: #${task.issue_number}` : null,
    task.pr_number ? `Pull request: #${task.pr_number}` : null,
    `Params: ${clip(json(task.params), 4000)}`,
    task.context != null ? `Context: ${clip(json(task.context), 4000)}` : null,
  ];
  return [{ id: `task:${task.id}`, title: "The task", text: lines.filter(Boolean).join("\n") }];
};

/** The plan run the task is a step of: the plan, every step's state, and the results of steps that finished. */
export const planSource: ContextSource = ({ db, task }) => {
  if (!task.parent_task_id) return [];
  const parent = getTaskRecord(db, task.parent_task_id);
  if (!parent || parent.task_type !== "plan") return [];
  const steps = db.sqlite
    .query<{ id: string; title: string; status: string; result: string | null; error: string | null; step: string | null }, [string]>(
      "SELECT id, title, status, result, error, json_extract(metadata, '$.plan_step') AS step FROM tasks WHERE parent_task_id = ? ORDER BY created_at, id",
    )
    .all(parent.id);
  const planName = typeof parent.params.plan_name === "string" ? parent.params.plan_name : parent.title;
  const lines = steps.map((s) => {
    const name = s.step ?? s.title;
    const self = s.id === task.id ? " ← this task" : "";
    const result = s.status === "succeeded" && s.result ? `: result ${clip(s.result, 1500)}` : s.error ? `: ${clip(s.error, 500)}` : "";
    return `- ${name} [${s.status}]${self}${result}`;
  });
  return [{ id: `plan-run:${parent.id}`, title: `The plan run (${planName})`, text: lines.join("\n") }];
};

/** Questions this task asked before, with how they were answered. */
export const earlierQuestionsSource: ContextSource = ({ db, task, requestId }) => {
  const rows = db.sqlite
    .query<{ question: string; answer: string | null; status: string; answered_by_type: string | null; denied: number }, [string, string]>(
      "SELECT question, answer, status, answered_by_type, denied FROM worker_requests WHERE task_id = ? AND id <> ? AND status <> 'open' ORDER BY created_at",
    )
    .all(task.id, requestId);
  if (rows.length === 0) return [];
  const text = rows
    .map((r) => `Q: ${clip(r.question, 1000)}\nA: ${r.denied ? "(denied)" : r.answer == null ? `(${r.status})` : clip(r.answer, 1000)}${r.answered_by_type ? ` — by ${r.answered_by_type}` : ""}`)
    .join("\n\n");
  return [{ id: `questions:${task.id}`, title: "Earlier questions of this task", text }];
};

/**
 * The task's conversation: what people (and others) wrote in it, the newest 30 messages. Questions and
 * answers come from the source above, status lines and the controller's notes are left out.
 */
export const conversationSource: ContextSource = ({ db, task }) => {
  const table = db.sqlite.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chat_messages'").get();
  if (!table) return [];
  const rows = db.sqlite
    .query<{ sender_type: string; sender_name: string | null; message: string }, [string]>(
      `SELECT m.sender_type, m.sender_name, m.message FROM chat_messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE c.task_id = ? AND m.message_type = 'text' ORDER BY m.seq DESC LIMIT 30`,
    )
    .all(task.id)
    .reverse();
  if (rows.length === 0) return [];
  const who = (r: (typeof rows)[number]) => (r.sender_name ? `${r.sender_type} ${r.sender_name}` : r.sender_type);
  return [{ id: `conversation:${task.id}`, title: "The task's conversation", text: rows.map((r) => `${who(r)}: ${clip(r.message, 1000)}`).join("\n") }];
};

/** How much of the context the team's documents may take (estimated tokens). */
export const DOCUMENTS_BUDGET_TOKENS = 2500;

/**
 * The context documents that match the question (and the task's title): the task's repository first, then
 * by full-text rank, within DOCUMENTS_BUDGET_TOKENS. Each is a section of its own, `context-document:<id>@v<n>`,
 * so the request's `context_used` names exactly which documents (and versions) the model was given.
 */
export const contextDocumentsSource: ContextSource = ({ db, task, question }) => {
  const found = documentsForContext(db, { query: `${question} ${task.title}`, repositoryUrl: task.repository_url, budgetTokens: DOCUMENTS_BUDGET_TOKENS });
  const sections = found.documents.map((d) => ({
    id: `context-document:${d.id}@v${d.version}`,
    title: `Document: ${d.title} (${d.document_type}, v${d.version})`,
    text: d.text.slice(d.text.indexOf("\n") + 1),
  }));
  if (found.omitted.length) {
    sections.push({
      id: `context-documents-omitted:${task.id}`,
      title: "Documents left out",
      text: `Also matching, left out to stay within ${DOCUMENTS_BUDGET_TOKENS} tokens for documents: ${found.omitted.map((o) => `${o.title} (v${o.version})`).join(", ")}.`,
    });
  }
  return sections;
};

export const DEFAULT_SOURCES: ContextSource[] = [taskSource, planSource, earlierQuestionsSource, conversationSource, contextDocumentsSource];

export interface BuiltContext {
  text: string;
  /** The sections given to the model, in order, and those left out for the budget. */
  used: Array<{ id: string; title: string; tokens: number }>;
  omitted: Array<{ id: string; title: string; tokens: number }>;
  budgetTokens: number;
}

/**
 * Runs every source and keeps sections in order while they fit `budgetTokens` (estimated); the rest are
 * left out and named, so a human can see exactly what the model was given.
 */
export function buildContext(input: Parameters<ContextSource>[0], sources: ContextSource[], budgetTokens: number, masker?: Masker): BuiltContext {
  const sections = sources.flatMap((source) => source(input));
  const used: BuiltContext["used"] = [];
  const omitted: BuiltContext["omitted"] = [];
  const parts: string[] = [];
  let spent = 0;
  for (const s of sections) {
    const text = masker ? masker.maskSecrets(s.text) : s.text;
    const block = `## ${s.title}\n${text}`;
    const tokens = estimateTokens(block);
    if (spent + tokens > budgetTokens) {
      omitted.push({ id: s.id, title: s.title, tokens });
      continue;
    }
    spent += tokens;
    used.push({ id: s.id, title: s.title, tokens });
    parts.push(block);
  }
  if (omitted.length) parts.push(`(Left out to stay within ${budgetTokens} tokens: ${omitted.map((o) => o.title).join(", ")}.)`);
  return { text: parts.join("\n\n"), used, omitted, budgetTokens };
}
