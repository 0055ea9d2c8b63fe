// Server-Sent Events over a raw ReadableStream (lighter per connection than a generic stream helper),
// with a heartbeat comment so proxies and Bun's idle timeout keep quiet streams open.
export interface SseWriter {
  /** Sends one event; `id` lets a reconnecting client resume with Last-Event-ID. */
  send(event: string, data: unknown, id?: string | number): void;
  /** Writes a frame encoded once by the caller (`encodeSseFrame`), to share it among many streams. */
  sendRaw(frame: Uint8Array): void;
  close(): void;
  readonly closed: boolean;
}

const encoder = new TextEncoder();

/** One SSE frame as bytes: encode it once, then `sendRaw` it to every subscriber. */
export function encodeSseFrame(event: string, data: string, id?: string | number): Uint8Array {
  let frame = `event: ${event}\n`;
  if (id !== undefined) frame += `id: ${id}\n`;
  // CR is a line break to an EventSource too: split on every kind so no part of the data is lost.
  for (const line of data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
  return encoder.encode(`${frame}\n`);
}

export function sseResponse(
  signal: AbortSignal,
  start: (sse: SseWriter) => (() => void) | void,
  opts: { heartbeatMs?: number; retryMs?: number } = {},
): Response {
  let cleanup: (() => void) | void;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const finish = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
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
            finish();
          }
        },
        close: finish,
        get closed() {
          return closed;
        },
      };
      controller.enqueue(encoder.encode(`retry: ${opts.retryMs ?? 2000}\n\n`));
      heartbeat = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(": keep-alive\n\n"));
        } catch {
          finish();
        }
      }, opts.heartbeatMs ?? 15_000);
      signal.addEventListener("abort", finish);
      cleanup = start(writer);
      if (closed) cleanup?.();
    },
    cancel() {
      closed = true;
      clearInterval(heartbeat);
      cleanup?.();
    },
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
}
