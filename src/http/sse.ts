// Server-Sent Events over a raw ReadableStream (lighter per connection than a generic stream helper),
// with a heartbeat comment so proxies and Bun's idle timeout keep quiet streams open. A guarded stream
// also re-checks, at each heartbeat and whenever the guard says access may have changed, that whoever
// opened it may still read it, and ends once they may not (an EventSource then reconnects: 401 / sign-in).
export interface SseWriter {
  /** Sends one event; `id` lets a reconnecting client resume with Last-Event-ID. */
  send(event: string, data: unknown, id?: string | number): void;
  /** Writes a frame encoded once by the caller (`encodeSseFrame`), to share it among many streams. */
  sendRaw(frame: Uint8Array): void;
  close(): void;
  readonly closed: boolean;
}

/** Who may keep a stream open: see accessGuard() (src/features/auth/principals.ts). */
export interface StreamGuard {
  /** Whether the stream may go on. */
  allowed(): boolean;
  /** Calls `recheck` whenever `allowed()` may have changed; returns the unsubscribe. */
  watch(recheck: () => void): () => void;
  /** How often to call `allowed()` anyway: a guarded stream's heartbeat interval. */
  intervalMs: number;
}

const encoder = new TextEncoder();

/** Streams open in this process now (the metrics' `agentvine_sse_connections`). */
let openStreams = 0;
export function openSseStreams(): number {
  return openStreams;
}

/** One SSE frame as bytes: encode it once, then `sendRaw` it to every subscriber. */
export function encodeSseFrame(event: string, data: string, id?: string | number): Uint8Array {
  let frame = `event: ${event}\n`;
  if (id !== undefined) frame += `id: ${id}\n`;
  // CR is a line break to an EventSource too: split on every kind so no part of the data is lost.
  for (const line of data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
  return encoder.encode(`${frame}\n`);
}

/**
 * What a stream may hold queued for a reader that does not keep up: past it the stream ends (the
 * EventSource reconnects and resumes with Last-Event-ID) instead of buffering without bound.
 */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

export function sseResponse(
  signal: AbortSignal,
  start: (sse: SseWriter) => (() => void) | void,
  opts: { heartbeatMs?: number; retryMs?: number; guard?: StreamGuard; /** Called once when the stream ends (a StreamLimits slot). */ release?: () => void; maxQueuedBytes?: number } = {},
): Response {
  const { guard } = opts;
  // Fails closed: a check that throws (the database going away at shutdown) ends the stream too.
  const denied = () => {
    try {
      return guard !== undefined && !guard.allowed();
    } catch {
      return true;
    }
  };
  let cleanup: (() => void) | void;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let unwatch: (() => void) | undefined;
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const finish = () => {
        if (closed) return;
        closed = true;
        openStreams--;
        clearInterval(heartbeat);
        unwatch?.();
        opts.release?.();
        signal.removeEventListener("abort", finish);
        try {
          cleanup?.();
        } finally {
          try {
            controller.close();
          } catch {
            // already closed by the client
          }
        }
      };
      const writer: SseWriter = {
        send(event, data, id) {
          if (closed) return;
          writer.sendRaw(encodeSseFrame(event, typeof data === "string" ? data : JSON.stringify(data), id));
        },
        sendRaw(frame) {
          if (closed) return;
          try {
            controller.enqueue(frame);
          } catch {
            return finish();
          }
          // A reader this far behind gets the stream ended rather than the server's memory.
          if ((controller.desiredSize ?? 0) < -(opts.maxQueuedBytes ?? MAX_QUEUED_BYTES)) finish();
        },
        close: finish,
        get closed() {
          return closed;
        },
      };
      openStreams++;
      controller.enqueue(encoder.encode(`retry: ${opts.retryMs ?? 2000}\n\n`));
      // Access withdrawn: say so first (`bye`, which the pages' `sse-close="bye"` closes the EventSource
      // on, so the browser neither reports an error nor reconnects), then end the stream.
      const withdraw = () => {
        try {
          controller.enqueue(encoder.encode("event: bye\ndata: access withdrawn\n\n"));
        } catch {
          // the client has gone already
        }
        finish();
      };
      heartbeat = setInterval(() => {
        if (denied()) return withdraw();
        try {
          controller.enqueue(encoder.encode(": keep-alive\n\n"));
        } catch {
          finish();
        }
      }, opts.heartbeatMs ?? guard?.intervalMs ?? 15_000);
      if (guard) {
        unwatch = guard.watch(() => {
          if (!closed && denied()) withdraw();
        });
      }
      signal.addEventListener("abort", finish);
      cleanup = start(writer);
      if (closed) cleanup?.();
    },
    cancel() {
      if (!closed) openStreams--;
      closed = true;
      clearInterval(heartbeat);
      unwatch?.();
      opts.release?.();
      cleanup?.();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }));
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
}
