// Direction controls (U+202A–U+202E embeddings and overrides, U+2066–U+2069 isolates) in user text render
// inert in the pages: a title like "invoice<U+202E>fdp.exe" would otherwise show as "invoiceexe.pdf". They
// are shown as a visible "[U+202E]" in text and in attributes a person reads (titles, confirm dialogs); an
// input's value and a textarea's content keep them, so editing a text does not change it.
const BIDI = /[\u202A-\u202E\u2066-\u2069]/;
const BIDI_ALL = /[\u202A-\u202E\u2066-\u2069]/g;

/** `text` with each direction control replaced by a visible [U+XXXX]. */
export function showBidi(text: string): string {
  return text.replace(BIDI_ALL, (ch) => `[U+${ch.charCodeAt(0).toString(16).toUpperCase()}]`);
}

/** An HTML page or fragment with its direction controls made inert (see above); unchanged when it has none. */
export function inertBidiHtml(html: string): string {
  if (!BIDI.test(html)) return html;
  return html.replace(/<textarea\b[^>]*>[\s\S]*?<\/textarea>|<[^>]*>|[^<]+/gi, (part) => {
    if (!BIDI.test(part)) return part;
    if (part.startsWith("<textarea") || part.startsWith("<TEXTAREA")) {
      // The opening tag's attributes are shown inert; what is edited stays as it is.
      const end = part.indexOf(">") + 1;
      return inertTag(part.slice(0, end)) + part.slice(end);
    }
    return part.startsWith("<") ? inertTag(part) : showBidi(part);
  });
}

function inertTag(tag: string): string {
  return tag.replace(/(\s[\w:.-]+)="([^"]*)"/g, (whole, name: string, value: string) => (name.trim().toLowerCase() === "value" ? whole : `${name}="${showBidi(value)}"`));
}
