// The markdown renderer against the hostile-input corpus and markdown's own ways in: raw HTML, script
// URLs in links, images and autolinks (plain, mixed case, entity-encoded), data: URLs, attribute breakouts.
// Whatever goes in, no tag or attribute of the input's making comes out; links get rel=noopener; code is
// monospaced; tables carry no style attribute (the CSP forbids them).
import { describe, expect, test } from "bun:test";
import { expectInert, IMG, JS_URL, SCRIPT, SVG, TEMPLATE, XSS } from "../../../test/hostile-corpus.ts";
import { renderMarkdown } from "./markdown.ts";

const MARKDOWN_ATTACKS = [
  `[click](${JS_URL})`,
  "[click](JaVaScRiPt:alert(1))",
  "[click](javascript&#58;alert(1))",
  "[click](&#106;avascript:alert(1))",
  "[click]( javascript:alert(1))",
  "<javascript:alert(1)>",
  "[ref][x]\n\n[x]: javascript:alert(1)",
  `![img](${JS_URL})`,
  "![img](x\" onerror=\"alert(1))",
  "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "[v](vbscript:msgbox(1))",
  "[f](file:///etc/passwd)",
  '[t](https://example.com "x\\" onmouseover=\\"alert(1))',
  "<a href=\"javascript:alert(1)\">x</a>",
  "<iframe src=//evil.example></iframe>",
  "<style>body{display:none}</style>",
  "`<script>alert(1)</script>`",
  "```html\n<script>alert(1)</script>\n```",
  "<details open ontoggle=alert(1)>",
  "**<img src=x onerror=alert(1)>**",
];

/** Every tag in the output and its attributes, to check that only the renderer's own appear. */
function tags(html: string): Array<{ tag: string; attrs: string }> {
  return [...html.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>/g)].map((m) => ({ tag: m[1]!.toLowerCase(), attrs: m[2]! }));
}
const ALLOWED_TAGS = new Set(["p", "a", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br", "img", "table", "thead", "tbody", "tr", "th", "td", "div", "s"]);

function expectSafe(html: string) {
  for (const { tag, attrs } of tags(html)) {
    expect(ALLOWED_TAGS.has(tag)).toBe(true);
    expect(attrs).not.toMatch(/\son\w+\s*=/i);
    expect(attrs).not.toMatch(/\sstyle\s*=/i);
    expect(attrs).not.toMatch(/(href|src)\s*=\s*"\s*(javascript|vbscript|data|file):/i);
    if (tag === "img") expect(attrs).toMatch(/src="\/[^/]/);
  }
}

describe("markdown rendering", () => {
  test("the hostile-input corpus renders inert, shown as text", () => {
    for (const payload of [XSS, SCRIPT, IMG, SVG, TEMPLATE, JS_URL]) {
      const html = renderMarkdown(payload);
      expectSafe(html);
      expectInert(html, payload === XSS || payload === SCRIPT);
    }
  });

  test.each(MARKDOWN_ATTACKS.map((a) => [a]))("%s: no tag, attribute or URL of the input's making", (attack) => {
    const html = renderMarkdown(attack);
    expectSafe(html);
    expect(html).not.toMatch(/<(script|iframe|style|details|svg)\b/i);
  });

  test("what it is for: emphasis, lists, code, links (new tab, noopener), tables without inline styles", () => {
    const html = renderMarkdown(
      ["# Plan", "", "**bold** and _em_", "", "- one", "- two", "", "```ts", "const a = 1 < 2;", "```", "", "[docs](https://example.com/x) and https://auto.link", "", "| a | b |", "|--:|:-:|", "| 1 | 2 |"].join("\n"),
    );
    expect(html).toContain("<h1>Plan</h1>");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain('<pre><code class="language-ts">const a = 1 &lt; 2;');
    expect(html).toContain('<a href="https://example.com/x" target="_blank" rel="noopener noreferrer nofollow">docs</a>');
    expect(html).toContain('<a href="https://auto.link" target="_blank" rel="noopener noreferrer nofollow">');
    expect(html).toContain('<th class="md-align-right">a</th>');
    expect(html).not.toContain("style=");
    expectSafe(html);
  });

  test("images load only from this server; others become links", () => {
    expect(renderMarkdown("![shot](/api/v1/chat/attachments/abc?inline=1)")).toContain('<img src="/api/v1/chat/attachments/abc?inline=1" alt="shot" loading="lazy">');
    const external = renderMarkdown("![tracker](https://evil.example/pixel.png)");
    expect(external).not.toContain("<img");
    expect(external).toContain('href="https://evil.example/pixel.png"');
    expect(renderMarkdown("![x](//evil.example/a.png)")).not.toContain("<img");
  });

  test("a huge message is shown as plain text rather than parsed", () => {
    const html = renderMarkdown(`${"<b>".repeat(10)}${"x".repeat(300_000)}`);
    expect(html.startsWith('<pre class="md-plain">&lt;b&gt;')).toBe(true);
  });
});
