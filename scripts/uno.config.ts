// The UnoCSS setup of the web UI: semantic colours as CSS variables (light and dark, following the
// system unless the user picked one), the small reset, and the shortcuts the views share.
import type { UserConfig } from "@unocss/core";
import presetWind3 from "@unocss/preset-wind3";
import { markdownCss } from "./uno-markdown.ts";

const light = {
  bg: "#f6f7f6",
  surface: "#ffffff",
  "surface-2": "#eef1ee",
  fg: "#16201a",
  muted: "#5b675f",
  line: "#d9dfda",
  // Text colours dark enough for 4.5:1 on their own 14–16 % tints (badges) and on surface-2 (WCAG AA).
  accent: "#166534",
  "accent-fg": "#ffffff",
  ok: "#166534",
  err: "#b91c1c",
  warn: "#92400e",
  info: "#1d4ed8",
  violet: "#6d28d9",
  neutral: "#4b5563",
  overlay: "rgb(15 23 18 / 0.45)",
  shadow: "0 1px 2px rgb(0 0 0 / 0.06), 0 1px 3px rgb(0 0 0 / 0.08)",
};
const dark: typeof light = {
  bg: "#0e1310",
  surface: "#161d19",
  "surface-2": "#1f2823",
  fg: "#e5ece7",
  muted: "#9aa8a0",
  line: "#2c3831",
  accent: "#4ade80",
  "accent-fg": "#06240f",
  ok: "#4ade80",
  err: "#fca5a5",
  warn: "#fbbf24",
  info: "#60a5fa",
  violet: "#c4b5fd",
  neutral: "#9ca3af",
  overlay: "rgb(0 0 0 / 0.6)",
  shadow: "0 1px 2px rgb(0 0 0 / 0.5)",
};
const vars = (palette: typeof light) =>
  Object.entries(palette)
    .map(([k, v]) => `--${k}:${v};`)
    .join("");

const base = `
*,::before,::after{box-sizing:border-box;border:0 solid var(--line)}
:root{color-scheme:light;${vars(light)}}
:root[data-theme=dark]{color-scheme:dark;${vars(dark)}}
@media (prefers-color-scheme:dark){:root:not([data-theme=light]){color-scheme:dark;${vars(dark)}}}
html{-webkit-text-size-adjust:100%;tab-size:4}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;min-height:100vh}
h1,h2,h3,h4,p,pre,ol,ul,dl,dd,figure{margin:0}
h1,h2,h3,h4{font-size:inherit;font-weight:inherit}
ol,ul{padding:0;list-style:none}
a{color:inherit;text-decoration:inherit}
button,input,select,textarea{font:inherit;color:inherit;margin:0}
button{background:none;cursor:pointer;padding:0}
table{border-collapse:collapse;width:100%}
fieldset{margin:0;padding:0;min-width:0}legend{padding:0}
code,pre,kbd,.font-mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.875em}
svg{display:block}
dialog{color:inherit}
dialog::backdrop{background:var(--overlay)}
:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
[hidden]{display:none!important}
.htmx-indicator{opacity:0;transition:opacity .2s}
.htmx-request .htmx-indicator,.htmx-request.htmx-indicator{opacity:1}
.htmx-request.live-region,.htmx-request .live-region{opacity:.6;transition:opacity .2s}
button .spinner.htmx-indicator{display:none}
.htmx-request button .spinner.htmx-indicator,button.htmx-request .spinner.htmx-indicator{display:inline-block}
.spinner{display:inline-block;width:1em;height:1em;border:2px solid currentColor;border-right-color:transparent;border-radius:50%;animation:spin .7s linear infinite;vertical-align:-.15em}
@keyframes spin{to{transform:rotate(360deg)}}
#progress{position:fixed;top:0;left:0;height:2px;width:0;background:var(--accent);z-index:60;opacity:0;transition:width .3s,opacity .3s}
html.loading #progress{width:70%;opacity:1;transition:width 8s cubic-bezier(.1,.7,.2,1)}
.logs[data-min=info] .lvl-debug,.logs[data-min=warn] .lvl-debug,.logs[data-min=warn] .lvl-info,.logs[data-min=error] .lvl-debug,.logs[data-min=error] .lvl-info,.logs[data-min=error] .lvl-warn{display:none}
.tone-ok{color:var(--ok);background:color-mix(in srgb,var(--ok) 14%,transparent)}
.tone-err{color:var(--err);background:color-mix(in srgb,var(--err) 14%,transparent)}
.tone-warn{color:var(--warn);background:color-mix(in srgb,var(--warn) 16%,transparent)}
.tone-info{color:var(--info);background:color-mix(in srgb,var(--info) 14%,transparent)}
.tone-violet{color:var(--violet);background:color-mix(in srgb,var(--violet) 14%,transparent)}
.tone-neutral{color:var(--neutral);background:color-mix(in srgb,var(--neutral) 14%,transparent)}
.pulse-dot{width:.5rem;height:.5rem;border-radius:50%;background:currentColor;animation:pulse 1.6s ease-in-out infinite}
@keyframes pulse{50%{opacity:.35}}
.stroke-accent{stroke:var(--accent)}.anim-pulse{animation:pulse 1.6s ease-in-out infinite}
.stroke-ok{stroke:var(--ok)}.stroke-err{stroke:var(--err)}.stroke-info{stroke:var(--info)}.stroke-warn{stroke:var(--warn)}.stroke-violet{stroke:var(--violet)}.stroke-neutral{stroke:var(--neutral)}.stroke-line{stroke:var(--line)}.stroke-muted{stroke:var(--muted)}
.fill-ok{fill:var(--ok)}.fill-err{fill:var(--err)}.fill-info{fill:var(--info)}.fill-warn{fill:var(--warn)}.fill-violet{fill:var(--violet)}.fill-neutral{fill:var(--neutral)}.fill-surface{fill:var(--surface)}.fill-muted{fill:var(--muted)}.fill-fg{fill:var(--fg)}
`;

export const unoConfig: UserConfig = {
  presets: [presetWind3({ preflight: "on-demand" })],
  theme: {
    colors: Object.fromEntries(Object.keys(light).map((k) => [k, `var(--${k})`])),
  },
  shortcuts: {
    btn: "inline-flex items-center justify-center gap-1.5 whitespace-nowrap rounded-md border border-line bg-surface px-3 py-1.5 text-sm font-medium hover:bg-surface-2 disabled:opacity-50 disabled:cursor-not-allowed",
    "btn-primary": "btn border-transparent bg-accent text-accent-fg hover:bg-accent hover:opacity-90",
    "btn-danger": "btn text-err hover:bg-surface-2",
    "btn-ghost": "btn border-transparent bg-transparent",
    "btn-sm": "px-2 py-1 text-xs",
    card: "rounded-lg border border-line bg-surface",
    field: "block w-full rounded-md border border-line bg-surface px-2.5 py-1.5 text-sm placeholder:text-muted",
    "field-error": "border-err",
    label: "mb-1 block text-sm font-medium",
    hint: "mt-1 text-xs text-muted",
    "error-text": "mt-1 text-xs text-err",
    badge: "inline-flex items-center gap-1 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium",
    // Underlined: a link in a sentence must not be told apart by its colour alone.
    "link": "text-accent underline underline-offset-2 hover:decoration-2",
    "th": "px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-muted",
    "td": "px-3 py-2 align-top",
  },
  preflights: [{ getCSS: () => base + markdownCss }],
};
