// A command's output as log lines, in linear time: split at newlines and, when a line grows past a maximum
// length, into pieces of about that length — never inside one of the task's secret values (the server masks
// whole values only). And the tail kept of each stream, cut the same way.
import type { TextCutter } from "../masking/forms.ts";

/** A line longer than this is logged in pieces of this length. */
export const MAX_LINE_CHARS = 60 * 1024;

export class LineSplitter {
  /** Text after the last newline: under MAX_LINE_CHARS + the cutter's margin between pushes. */
  #pending = "";

  constructor(
    private readonly cutter: TextCutter,
    /** `partial`: a piece of a longer line (more of it follows). */
    private readonly emit: (line: string, partial: boolean) => void,
    private readonly max = MAX_LINE_CHARS,
  ) {}

  /** Each character is scanned once for a newline, and each piece is sliced once: no rescan of the unfinished line. */
  push(text: string): void {
    let from = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", from)) {
      const line = this.#pending + text.slice(from, nl);
      this.#pending = "";
      this.#pieces(line, true);
      from = nl + 1;
    }
    if (from < text.length) this.#pending = this.#pieces(this.#pending + text.slice(from), false);
  }

  /** The stream ended: what is left is the last line. */
  end(): void {
    if (this.#pending) this.#pieces(this.#pending, true);
    this.#pending = "";
  }

  /**
   * Emits `line` in pieces of about `max`. Unfinished (more may follow), it keeps back what may still be
   * completed — the last piece, and enough context for a value spanning the cut — and returns it.
   */
  #pieces(line: string, complete: boolean): string {
    const margin = this.cutter.margin;
    let start = 0;
    while (line.length - start > this.max && (complete || line.length - start >= this.max + margin)) {
      const window = line.slice(start, start + this.max + margin);
      const cut = this.cutter.cutAfter(window, this.max);
      this.emit(window.slice(0, cut), true);
      start += cut;
    }
    const rest = line.slice(start);
    if (!complete) return rest;
    this.emit(rest.endsWith("\r") ? rest.slice(0, -1) : rest, false);
    return "";
  }
}

/** Keeps the last `max` characters of a stream (with the cutter's margin of context, so the final cut is clean). */
export class StreamTail {
  #text = "";

  constructor(
    private readonly cutter: TextCutter,
    private readonly max: number,
  ) {}

  push(chunk: string): void {
    this.#text += chunk;
    const keep = this.max + this.cutter.margin;
    if (this.#text.length > keep * 2) this.#text = this.#text.slice(-keep);
  }

  value(): string {
    return this.cutter.tail(this.#text, this.max);
  }
}
