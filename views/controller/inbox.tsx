/** @jsxImportSource hono/jsx */
// The Inbox: questions waiting for a person (nearest deadline first, answered in place), questions the
// model is answering now (its answer streaming in), and the ones resolved lately with who or what
// answered. Each section is a live region: the page's stream (`requests`, `answers`) refreshes its content.
import type { Child, FC } from "hono/jsx";
import type { InboxData, QuestionView } from "../../src/features/controller/inbox-data.ts";
import { EmptyState, PageHeader } from "../components/ui.tsx";
import { QuestionCard, ResolvedItem } from "./question.tsx";

const SectionTitle: FC<{ id: string; title: string; count?: number }> = ({ id, title, count }) => (
  <h2 id={id} class="flex items-center gap-2 font-semibold">
    {title}
    {count !== undefined ? (
      <span class="badge tone-neutral tabular-nums" data-count="">
        {count}
      </span>
    ) : null}
  </h2>
);

/**
 * A live section: it stays in the page and only its content is swapped (innerHTML) when the stream says
 * something changed — a refresh asked for while one is in flight is queued on the same element and runs
 * after it, so no change is lost (a replaced element would drop the queued refresh).
 */
const LiveSection: FC<{ id: string; trigger: string; class: string; children?: Child }> = ({ id, trigger, class: cls, children }) => (
  <section id={id} class={`live-region min-w-0 ${cls}`} aria-labelledby={`${id}-title`} hx-get="/inbox" hx-trigger={trigger} hx-swap="innerHTML">
    {children}
  </section>
);

export const HumanQuestionsBody: FC<{ items: QuestionView[]; total: number; canAnswer: boolean }> = ({ items, total, canAnswer }) => (
  <>
    <SectionTitle id="inbox-human-title" title="Waiting for a person" count={total} />
    {items.length === 0 ? (
      <div class="card">
        <EmptyState title="Nothing is waiting for you">
          When a task asks a question that a policy routes to a person, it appears here — nearest deadline first — and in every open browser at once.
        </EmptyState>
      </div>
    ) : (
      items.map((q) => <QuestionCard q={q} from="inbox" canAnswer={canAnswer} />)
    )}
    {total > items.length ? (
      <p class="text-xs text-muted">
        {total - items.length} more, with later deadlines: answer these first, or list them all with <code>GET /api/v1/requests?status=open&amp;handler=human</code>.
      </p>
    ) : null}
  </>
);

export const AutomatedQuestionsBody: FC<{ items: QuestionView[]; total: number; canAnswer: boolean }> = ({ items, total, canAnswer }) => (
  <>
    <SectionTitle id="inbox-automated-title" title="With the model now" count={total} />
    {items.length === 0 ? (
      <p class="card px-4 py-3 text-sm text-muted" data-state="empty">
        The model is answering nothing right now. Questions a policy routes to it show here with the answer as it streams in.
      </p>
    ) : (
      items.map((q) => <QuestionCard q={q} from="inbox" canAnswer={canAnswer} />)
    )}
  </>
);

export const ResolvedQuestionsBody: FC<{ items: QuestionView[] }> = ({ items }) => (
  <>
    <div class="border-b border-line px-4 py-2">
      <SectionTitle id="inbox-resolved-title" title="Recently resolved" />
    </div>
    {items.length === 0 ? (
      <p class="px-4 py-3 text-sm text-muted" data-state="empty">
        No question has been resolved yet.
      </p>
    ) : (
      <ul class="divide-y divide-line">
        {items.map((q) => (
          <ResolvedItem q={q} />
        ))}
      </ul>
    )}
  </>
);

export interface InboxPageProps {
  data: InboxData;
  canAnswer: boolean;
  version: number;
}

export const InboxPage: FC<InboxPageProps> = ({ data, canAnswer, version }) => (
  <>
    <PageHeader
      title="Inbox"
      subtitle={
        <>
          Questions running tasks asked. Answer one and its task carries on; <a class="link" href="/policies">policies</a> decide who gets which.
        </>
      }
    />
    <div sse-close="bye" sse-connect={`/events?topics=requests,answers&v=${version}`} class="grid min-w-0 items-start gap-5 lg:grid-cols-3">
      <div class="flex min-w-0 flex-col gap-5 lg:col-span-2">
        <LiveSection id="inbox-human" trigger="sse:requests" class="flex flex-col gap-3">
          <HumanQuestionsBody items={data.human} total={data.humanTotal} canAnswer={canAnswer} />
        </LiveSection>
        <LiveSection id="inbox-automated" trigger="sse:requests, sse:answers" class="flex flex-col gap-3">
          <AutomatedQuestionsBody items={data.automated} total={data.automatedTotal} canAnswer={canAnswer} />
        </LiveSection>
      </div>
      <LiveSection id="inbox-resolved" trigger="sse:requests" class="card">
        <ResolvedQuestionsBody items={data.resolved} />
      </LiveSection>
    </div>
  </>
);

/** The nav's count of questions waiting for a person (what GET /inbox/badge answers). */
export const InboxCount: FC<{ count: number }> = ({ count }) => (
  <span class="badge tone-violet ml-1 tabular-nums" hidden={count === 0} data-inbox-badge="" aria-label={`${count} waiting for a person`}>
    {count}
  </span>
);

/** The count's place in the nav: it stays, its content is refreshed by public/app.js on the `requests` event. */
export const InboxBadge: FC<{ count: number; version?: number }> = ({ count, version }) => (
  <span data-inbox-slot="" data-v={version} hx-get="/inbox/badge" hx-trigger="inbox:refresh" hx-swap="innerHTML">
    <InboxCount count={count} />
  </span>
);
