// The model's answers as they stream in (request:delta), kept in memory per open question so a page that
// refreshes mid-answer shows what has arrived so far. A draft starts again when the model is asked again
// (request:updated with the automated handler: a new call, after a restart or a retry) and is forgotten
// once the question is resolved or handed to a person. Nothing here is durable: the stored answer is.
import type { EventBus } from "../../events/bus.ts";

/** Per draft: the tail is kept (a runaway answer stays bounded). */
const MAX_CHARS = 20_000;
/** Drafts at once: the oldest go first (an open automated question is short-lived). */
const MAX_DRAFTS = 1000;

export class AnswerDrafts {
  #drafts = new Map<string, string>();
  #offs: Array<() => void>;

  constructor(bus: EventBus) {
    this.#offs = [
      bus.on("request:delta", (e) => {
        const text = (this.#drafts.get(e.requestId) ?? "") + e.text;
        this.#drafts.delete(e.requestId);
        this.#drafts.set(e.requestId, text.length > MAX_CHARS ? text.slice(-MAX_CHARS) : text);
        if (this.#drafts.size > MAX_DRAFTS) this.#drafts.delete(this.#drafts.keys().next().value!);
      }),
      bus.on("request:updated", (e) => {
        this.#drafts.delete(e.requestId);
      }),
      bus.on("request:resolved", (e) => {
        this.#drafts.delete(e.requestId);
      }),
    ];
  }

  /** What the model has written so far for this question ("" when nothing yet). */
  get(requestId: string): string {
    return this.#drafts.get(requestId) ?? "";
  }

  close(): void {
    for (const off of this.#offs) off();
    this.#drafts.clear();
  }
}
