/** @jsxImportSource hono/jsx */
// A task's questions on its page: the open one inline with the same answer box as the Inbox (or the
// model's answer streaming in), and the earlier ones with their resolutions. Refreshed by the page's
// stream (`questions:<task id>`); hidden (empty) while the task has asked nothing.
import type { FC } from "hono/jsx";
import type { TaskQuestions } from "../../src/features/controller/inbox-data.ts";
import { QuestionCard, ResolvedItem } from "./question.tsx";

export interface TaskQuestionsPanelProps {
  questions: TaskQuestions;
  canAnswer: boolean;
  /** An answer that did not validate: the request it was for, and why. */
  error?: { requestId: string; message: string };
}

/** What the panel holds: nothing while the task has asked nothing (the panel is then :empty, and hidden). */
export const TaskQuestionsBody: FC<TaskQuestionsPanelProps> = ({ questions, canAnswer, error }) => {
  const { open, earlier } = questions;
  return (
    <>
      {open.map((q) => (
        <QuestionCard q={q} from="task" canAnswer={canAnswer} hideTask error={error?.requestId === q.request.id ? error.message : undefined} />
      ))}
      {earlier.length > 0 ? (
        <details class="card min-w-0" open={open.length === 0}>
          <summary class="cursor-pointer px-4 py-2 font-semibold">
            Earlier questions <span class="font-normal text-muted">({earlier.length})</span>
          </summary>
          <ul class="divide-y divide-line border-t border-line">
            {earlier.map((q) => (
              <ResolvedItem q={q} hideTask />
            ))}
          </ul>
        </details>
      ) : null}
    </>
  );
};

/** The panel stays in the page; its content is swapped (innerHTML) on the `questions` event or an answer from it. */
export const TaskQuestionsPanel: FC<TaskQuestionsPanelProps> = (props) => (
  <section
    id="task-questions"
    class="flex min-w-0 flex-col gap-3 empty:hidden"
    aria-label="Questions this task asked"
    hx-get={`/tasks/${props.questions.taskId}/questions`}
    hx-trigger="sse:questions"
    hx-swap="innerHTML"
  >
    <TaskQuestionsBody {...props} />
  </section>
);
