// Splitting a command's output into log lines in linear time, and cutting long lines and tails never
// inside one of the task's secret values (issue 10, items 2 and 4).
import { describe, expect, test } from "bun:test";
import { textCutter } from "../masking/forms.ts";
import { LineSplitter, MAX_LINE_CHARS, StreamTail } from "./lines.ts";

const SECRET = "tok_9f8e7d6c5b4a39281706";

function split(chunks: string[], values: string[] = []) {
  const out: Array<{ line: string; partial: boolean }> = [];
  const s = new LineSplitter(textCutter(values), (line, partial) => out.push({ line, partial }));
  for (const c of chunks) s.push(c);
  s.end();
  return out;
}

/** Cuts `text` into chunks of `size`. */
const chunked = (text: string, size: number) => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

describe("LineSplitter", () => {
  test("lines at newlines (a trailing \\r dropped), whatever the chunking", () => {
    const text = "one\r\ntwo\n\nthree";
    for (const size of [1, 2, 3, 100]) expect(split(chunked(text, size)).map((l) => l.line)).toEqual(["one", "two", "", "three"]);
  });

  test("a line longer than the maximum comes in pieces marked partial, and nothing is lost", () => {
    const long = "a".repeat(MAX_LINE_CHARS * 2 + 10);
    const lines = split(chunked(`${long}\nnext`, 4096));
    expect(lines.map((l) => [l.line.length, l.partial])).toEqual([
      [MAX_LINE_CHARS, true],
      [MAX_LINE_CHARS, true],
      [10, false],
      [4, false],
    ]);
  });

  test("a piece never ends inside a secret value the task was given: it is cut after the value", () => {
    const text = `${"x".repeat(MAX_LINE_CHARS - 5)}${SECRET}${"y".repeat(100)}`;
    for (const size of [1000, 7, MAX_LINE_CHARS]) {
      const lines = split(chunked(text, size), [SECRET]);
      expect(lines.map((l) => l.line).join("")).toBe(text);
      expect(lines[0]!.line.endsWith(SECRET)).toBe(true);
      // No piece holds a fragment of the value: each holds it whole or not at all.
      for (const { line } of lines) if (!line.includes(SECRET)) for (let i = 0; i + 8 <= SECRET.length; i++) expect(line).not.toContain(SECRET.slice(i, i + 8));
    }
    // Without the value known, the cut falls at the maximum (what the server then cannot mask whole).
    expect(split([text])[0]!.line.length).toBe(MAX_LINE_CHARS);
  });

  test("linear: 64 MB without a newline in 64 KiB chunks is split in well under a second per 64 MB", () => {
    const chunk = "a".repeat(64 * 1024);
    let pieces = 0;
    let longest = 0;
    const s = new LineSplitter(textCutter([SECRET]), (line) => {
      pieces++;
      longest = Math.max(longest, line.length);
    });
    const started = performance.now();
    for (let i = 0; i < 1024; i++) s.push(chunk);
    s.end();
    const ms = performance.now() - started;
    expect(pieces).toBe(Math.ceil((64 * 1024 * 1024) / MAX_LINE_CHARS));
    expect(longest).toBe(MAX_LINE_CHARS);
    // Quadratic (the whole unfinished line rescanned per chunk) takes minutes here; linear takes ~100 ms.
    expect(ms).toBeLessThan(5000);
  });
});

describe("StreamTail", () => {
  test("keeps the last characters; a cut inside a value moves to keep the value whole", () => {
    const tail = new StreamTail(textCutter([SECRET]), 100);
    for (const c of chunked(`${"z".repeat(1000)}${SECRET}${"x".repeat(90)}`, 33)) tail.push(c);
    expect(tail.value()).toBe(`${SECRET}${"x".repeat(90)}`);
    const plain = new StreamTail(textCutter([]), 100);
    plain.push("z".repeat(1000));
    expect(plain.value()).toBe("z".repeat(100));
  });
});
