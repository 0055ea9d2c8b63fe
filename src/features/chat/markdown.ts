// Markdown → safe HTML for chat messages and context documents, with markdown-it: raw HTML is never
// passed through (shown as text), only http(s)/mailto links and same-origin paths survive (links open with
// rel="noopener noreferrer nofollow"), images only from this server (others become links, so the page
// loads nothing from elsewhere), code blocks are monospaced with their language as a class, and table
// alignment is a class rather than a style attribute (the CSP allows no inline style).
import markdownIt, { type MarkdownIt, type Token } from "markdown-it";

const SAFE_LINK = /^(https?:|mailto:|\/(?!\/)|#)/i;
/** An image the page may load: a path on this server (attachments), nothing from elsewhere. */
const SAFE_IMAGE = /^\/(?!\/)/;

function createRenderer(): MarkdownIt {
  const md = markdownIt({ html: false, linkify: true, typographer: false, breaks: true, maxNesting: 40 });
  // markdown-it already refuses javascript:, vbscript:, file: and most data: URLs; this is narrower still.
  const baseValidate = md.validateLink.bind(md);
  md.validateLink = (url: string) => baseValidate(url) && SAFE_LINK.test(url.trim());

  const renderToken = (tokens: Token[], idx: number, options: unknown, _env: unknown, self: { renderToken(t: Token[], i: number, o: unknown): string }) =>
    self.renderToken(tokens, idx, options);

  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    const token = tokens[idx]!;
    const href = String(token.attrGet("href") ?? "");
    if (!href.startsWith("/") && !href.startsWith("#")) {
      token.attrSet("target", "_blank");
      token.attrSet("rel", "noopener noreferrer nofollow");
    }
    return renderToken(tokens, idx, options, env, self);
  };

  md.renderer.rules.image = (tokens, idx, options, env, self) => {
    const token = tokens[idx]!;
    const src = String(token.attrGet("src") ?? "");
    const alt = self.renderInlineAsText(token.children ?? [], options, env);
    if (SAFE_IMAGE.test(src)) {
      token.attrSet("alt", alt);
      token.attrSet("loading", "lazy");
      return self.renderToken(tokens, idx, options);
    }
    // Shown as a link to the image instead of loading it from another site.
    const label = md.utils.escapeHtml(alt || src);
    return `<a href="${md.utils.escapeHtml(src)}" target="_blank" rel="noopener noreferrer nofollow">🖼 ${label}</a>`;
  };

  // `style="text-align:…"` on table cells → a class (no inline styles under the CSP).
  for (const rule of ["th_open", "td_open"] as const) {
    md.renderer.rules[rule] = (tokens, idx, options, env, self) => {
      const token = tokens[idx]!;
      const style = token.attrGet("style") == null ? null : String(token.attrGet("style"));
      if (style) {
        token.attrs = (token.attrs ?? []).filter(([name]) => name !== "style");
        const align = /text-align:(left|right|center)/.exec(style)?.[1];
        if (align) token.attrJoin("class", `md-align-${align}`);
      }
      return renderToken(tokens, idx, options, env, self);
    };
  }

  md.renderer.rules.table_open = () => '<div class="md-table"><table>\n';
  md.renderer.rules.table_close = () => "</table></div>\n";
  return md;
}

const renderer = createRenderer();

/** The longest text rendered as markdown; beyond it the text is shown as it is (escaped), in full. */
const MAX_MARKDOWN_CHARS = 200_000;

/** Markdown text → HTML that is safe to insert as it is (see the module comment for what that means). */
export function renderMarkdown(text: string): string {
  if (text.length > MAX_MARKDOWN_CHARS) return `<pre class="md-plain">${renderer.utils.escapeHtml(text)}</pre>`;
  return renderer.render(text);
}

/** One line of markdown (no paragraphs): for a short excerpt. */
export function renderMarkdownInline(text: string): string {
  return renderer.renderInline(text.slice(0, 2000));
}
