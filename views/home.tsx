/** @jsxImportSource hono/jsx */
// The landing page at `/` until the full web UI lands: what is running and where to go next.
import type { FC } from "hono/jsx";

export const HomePage: FC<{ version: string; taskTypes: string[] }> = ({ version, taskTypes }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="color-scheme" content="light dark" />
      <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
      <title>AgentVine</title>
      <style>{`body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
code{background:color-mix(in srgb,currentColor 10%,transparent);padding:.1rem .3rem;border-radius:.25rem}
a{color:#15803d}@media (prefers-color-scheme:dark){a{color:#4ade80}}`}</style>
    </head>
    <body>
      <h1>AgentVine {version}</h1>
      <p>The control plane is running. Task types: {taskTypes.map((t, i) => [i ? ", " : "", <code>{t}</code>])}.</p>
      <ul>
        <li>
          <a href="/api/v1/health">Health</a>
        </li>
        <li>
          <a href="/api/v1/openapi.json">OpenAPI document</a>
        </li>
        <li>
          <a href="/api/v1/tasks">Tasks (JSON)</a>
        </li>
        <li>
          <a href="/metrics">Metrics</a>
        </li>
      </ul>
    </body>
  </html>
);
