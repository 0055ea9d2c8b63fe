/** @jsxImportSource hono/jsx */
// What a page shows when it does not exist or failed: the body of the 404 and error pages.
import type { FC } from "hono/jsx";

export const NotFound: FC<{ path: string; message?: string }> = ({ path, message }) => (
  <section class="mx-auto flex max-w-lg flex-col items-center gap-3 py-16 text-center" data-page="not-found">
    <p class="text-5xl font-bold text-muted">404</p>
    <h1 class="text-xl font-semibold">Nothing here</h1>
    <p class="break-all text-sm text-muted">{message ?? `There is no page at ${path}.`}</p>
    <div class="flex gap-2">
      <a class="btn-primary" href="/">
        Dashboard
      </a>
      <a class="btn" href="/tasks">
        Tasks
      </a>
    </div>
  </section>
);

export const ServerError: FC<{ status: number; message: string; requestId?: string }> = ({ status, message, requestId }) => (
  <section class="mx-auto flex max-w-lg flex-col items-center gap-3 py-16 text-center" data-page="error">
    <p class="text-5xl font-bold text-err">{status}</p>
    <h1 class="text-xl font-semibold">{status >= 500 ? "Something went wrong" : "That did not work"}</h1>
    <p class="break-words text-sm text-muted">{message}</p>
    {requestId ? <p class="text-xs text-muted">Request id: <code>{requestId}</code></p> : null}
    <a class="btn-primary" href="/">
      Back to the dashboard
    </a>
  </section>
);
