// The forms a secret value is commonly printed in — as is, JSON-escaped, URL-encoded, base64 (at any
// alignment inside a longer encoding), hex, and each line of a multi-line value — and finding whole
// occurrences of them in text. Pure: the SecretStore masks with it, task threads cut text around it.

/** Shorter values would mask ordinary text all over the logs (and are no secret anyway). */
export const MIN_SECRET_LENGTH = 4;
/** A derived form (base64 inside a longer encoding, a line of a multi-line value) shorter than this is not matched. */
const MIN_DERIVED_LENGTH = 6;

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * The characters of base64 that depend only on `bytes`, when `bytes` sit at offset `offset` (0, 1 or 2)
 * of a longer encoded input: the ones straddling a neighbour's bits are left out, so the form is found
 * whatever came before and after (`echo "user:$TOKEN" | base64`).
 */
function base64Inner(bytes: Uint8Array, offset: number): string {
  const bits = (i: number) => bytes[i - offset]!; // only called for indexes inside the value
  let out = "";
  const startBit = offset * 8;
  const endBit = (offset + bytes.length) * 8;
  for (let k = Math.ceil(startBit / 6); (k + 1) * 6 <= endBit; k++) {
    let v = 0;
    for (let b = k * 6; b < k * 6 + 6; b++) {
      const byte = bits(Math.floor(b / 8));
      v = (v << 1) | ((byte >> (7 - (b % 8))) & 1);
    }
    out += B64[v];
  }
  return out;
}

/** Every form of `value` worth masking, distinct, longest first. */
export function secretForms(value: string): string[] {
  const forms = new Set<string>();
  const add = (form: string, min = MIN_SECRET_LENGTH) => {
    if (form.length >= min) forms.add(form);
  };
  add(value, 1);
  add(JSON.stringify(value).slice(1, -1));
  const url = encodeURIComponent(value);
  add(url);
  add(url.replace(/%20/g, "+"));
  const bytes = new TextEncoder().encode(value);
  const hex = Buffer.from(bytes).toString("hex");
  add(hex);
  add(hex.toUpperCase());
  for (const offset of [0, 1, 2]) {
    const inner = base64Inner(bytes, offset);
    add(inner, MIN_DERIVED_LENGTH);
    add(inner.replace(/\+/g, "-").replace(/\//g, "_"), MIN_DERIVED_LENGTH); // base64url
  }
  // Log lines are masked one at a time, so a PEM key printed by `cat` arrives line by line.
  if (/[\r\n]/.test(value)) for (const line of value.split(/\r?\n|\r/)) if (line.trim().length >= MIN_SECRET_LENGTH) add(line);
  return [...forms].sort((a, b) => b.length - a.length);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Finds whole occurrences of a set of forms (longest first, so a value containing another is one match). */
export class FormMatcher {
  readonly #regex: RegExp | null;
  /** The longest form: text cut less than this before or after a point may hold an occurrence across it. */
  readonly longest: number;

  constructor(forms: Iterable<string>) {
    const sorted = [...new Set(forms)].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
    this.longest = sorted[0]?.length ?? 0;
    this.#regex = sorted.length ? new RegExp(sorted.map(escapeRegExp).join("|"), "g") : null;
  }

  static forValues(values: Iterable<string>): FormMatcher {
    return new FormMatcher([...values].flatMap(secretForms));
  }

  get empty(): boolean {
    return this.#regex === null;
  }

  /** `text` with every whole occurrence replaced by `mask`. */
  replace(text: string, mask: string): string {
    return this.#regex && text ? text.replace(this.#regex, mask) : text;
  }

  /** [start, end) of each occurrence, in order, not overlapping. */
  ranges(text: string): Array<[number, number]> {
    if (!this.#regex || !text) return [];
    return [...text.matchAll(this.#regex)].map((m) => [m.index, m.index + m[0].length]);
  }

  /**
   * A place to cut `text` at or near `at` that is not inside an occurrence: `at` itself, or — when an
   * occurrence spans it — that occurrence's start (`prefer: "before"`) or end (`"after"`). Only occurrences
   * wholly inside `text` are seen, so give it at least `longest` characters of context on either side.
   */
  safeCut(text: string, at: number, prefer: "before" | "after"): number {
    if (!this.#regex || at <= 0 || at >= text.length) return at;
    // Only a window around `at` can hold an occurrence spanning it: the cost does not grow with the text.
    const from = Math.max(0, at - this.longest);
    for (const [start, end] of this.ranges(text.slice(from, at + this.longest))) {
      if (from + start >= at) break;
      if (from + end > at) return prefer === "before" ? from + start : from + end;
    }
    return at;
  }
}

/**
 * Cutting text that may hold some of a task's secret values, never inside one: the server masks whole
 * occurrences only, so a value cut in two would show both halves. Pass text with `margin` characters of
 * context beyond the cut (a value spanning it then lies wholly inside, and the cut moves to its edge).
 */
export interface TextCutter {
  /** The longest form of the secrets: the context to keep beyond a cut (0 without secrets). */
  readonly margin: number;
  /** A cut at or just after `at` (past an occurrence spanning it), never between the halves of a surrogate pair. */
  cutAfter(text: string, at: number): number;
  /** The first `max` characters (a little more when a value spans the cut). */
  head(text: string, max: number): string;
  /** The last `max` characters (a little more when a value spans the cut). */
  tail(text: string, max: number): string;
}

export function textCutter(values: Iterable<string>): TextCutter {
  const matcher = FormMatcher.forValues(values);
  const pairSafe = (text: string, at: number) => {
    const code = text.charCodeAt(at - 1);
    return code >= 0xd800 && code <= 0xdbff && at < text.length ? at + 1 : at;
  };
  return {
    margin: matcher.longest,
    cutAfter: (text, at) => pairSafe(text, matcher.safeCut(text, at, "after")),
    head: (text, max) => (text.length <= max ? text : text.slice(0, pairSafe(text, matcher.safeCut(text, max, "after")))),
    tail: (text, max) => {
      if (text.length <= max) return text;
      const start = matcher.safeCut(text, text.length - max, "before");
      const code = text.charCodeAt(start);
      return text.slice(code >= 0xdc00 && code <= 0xdfff && start > 0 ? start - 1 : start);
    },
  };
}
