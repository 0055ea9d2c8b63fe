// Styles the UnoCSS classes cannot reach: rendered markdown (chat messages, context documents — markdown-it
// output carries no classes) and the chat's message list. Part of the generated stylesheet (uno.config.ts).
export const markdownCss = `
.md{overflow-wrap:anywhere;line-height:1.55}
.md>*+*{margin-top:.6em}
.md h1,.md h2,.md h3,.md h4,.md h5,.md h6{font-weight:600;line-height:1.3;margin-top:1em}
.md h1{font-size:1.35em}.md h2{font-size:1.2em}.md h3{font-size:1.08em}
.md>:first-child{margin-top:0}
.md ul{list-style:disc;padding-left:1.4em}.md ol{list-style:decimal;padding-left:1.6em}
.md li+li{margin-top:.2em}
.md a{color:var(--accent);text-decoration:underline;text-underline-offset:2px}
.md blockquote{border-left:3px solid var(--line);padding-left:.8em;color:var(--muted)}
.md code{background:var(--surface-2);border-radius:4px;padding:.1em .3em}
.md pre{background:var(--surface-2);border:1px solid var(--line);border-radius:6px;padding:.6em .8em;overflow-x:auto;max-width:100%}
.md pre code{background:none;padding:0;white-space:pre;font-size:.85em}
.md hr{border-top:1px solid var(--line);margin:1em 0}
.md img{max-width:100%;max-height:20rem;border-radius:6px}
.md .md-table{overflow-x:auto}
.md table{width:auto;border-collapse:collapse;font-size:.92em}
.md th,.md td{border:1px solid var(--line);padding:.25em .6em;text-align:left}
.md th{background:var(--surface-2);font-weight:600}
.md .md-align-right{text-align:right}.md .md-align-center{text-align:center}
.md-plain{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:.85em}
mark{background:color-mix(in srgb,var(--warn) 30%,transparent);color:inherit;border-radius:2px;padding:0 .1em}
.chat-shell{height:calc(100vh - 10.5rem);min-height:26rem}
.msg-list{overflow-y:auto;overscroll-behavior:contain}
.msg.msg-mine .msg-bubble{background:color-mix(in srgb,var(--accent) 10%,var(--surface))}
.msg .msg-edit-btn{display:none}
.msg.msg-mine .msg-edit-btn{display:inline-flex}
.msg.msg-pending{opacity:.6}
.msg.msg-flash .msg-bubble{outline:2px solid var(--accent)}
.chat-composer textarea{resize:none;max-height:12rem;overflow-y:auto}
[data-context-collapsed] #chat-context{display:none}
`;
