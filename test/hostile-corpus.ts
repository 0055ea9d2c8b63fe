// The hostile-input corpus: script and HTML payloads every place that shows user text must render inert
// (test/hostile-input.test.ts over HTTP, the markdown renderer, the browser tests), and the check for it.
import { expect } from "bun:test";

export const SCRIPT = "<script>alert(1)</script>";
export const IMG = `"><img src=x onerror=alert(1)>`;
export const SVG = "<svg/onload=alert(1)>";
export const TEMPLATE = "{{7*7}}";
export const JS_URL = "javascript:alert(1)";
export const XSS = `${SCRIPT} ${IMG} ${SVG} ${TEMPLATE} '-alert(1)-' </textarea></pre></title>`;

/** No markup from user text: only escaped forms of the payloads may appear. */
export function expectInert(html: string, mustShow = true) {
  expect(html).not.toContain("<script>alert(1)");
  expect(html).not.toMatch(/<img src=x/i);
  expect(html).not.toMatch(/<svg\/onload/i);
  expect(html).not.toMatch(/onerror=alert\(1\)>/); // an unescaped `>` closing an injected tag
  expect(html).not.toMatch(/\bhref\s*=\s*["']?\s*javascript:/i);
  expect(html).not.toMatch(/\bsrc\s*=\s*["']?\s*javascript:/i);
  expect(html).not.toMatch(/<\/textarea><\/pre>/);
  expect(html).not.toContain(">49<"); // a template engine evaluating {{7*7}}
  if (mustShow) expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
}
