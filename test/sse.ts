// Reads a Server-Sent Events response frame by frame, the way a browser's EventSource would parse it.
export interface SseFrame {
  event: string;
  data: string;
  id?: string;
}

export interface SseReader {
  /** The next frame, or null once the server closed the stream; fails after `timeoutMs` without one. */
  next(timeoutMs?: number): Promise<SseFrame | null>;
  /** Frames until (and including) the first that `stop` accepts; fails if the stream ends first. */
  until(stop: (f: SseFrame) => boolean, timeoutMs?: number): Promise<SseFrame[]>;
  /** Frames until the server closes the stream. */
  rest(timeoutMs?: number): Promise<SseFrame[]>;
  close(): Promise<void>;
}

export interface SseOptions {
  /** Sent as `Authorization: Bearer <token>` (the streams need a signed-in viewer). */
  token?: string;
  headers?: Record<string, string>;
}

/** Opens `url` as an event stream (Accept: text/event-stream) and returns a frame reader. */
export async function openSse(url: string, { token, headers = {} }: SseOptions = {}): Promise<{ res: Response; sse: SseReader }> {
  const abort = new AbortController();
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(url, { headers: { accept: "text/event-stream", ...auth, ...headers }, signal: abort.signal });
  if (!res.ok || !res.body) {
    abort.abort();
    throw new Error(`expected an event stream from ${url}, got ${res.status}: ${await res.text().catch(() => "")}`);
  }
  return { res, sse: sseReader(res.body, abort) };
}

export function sseReader(body: ReadableStream<Uint8Array>, abort?: AbortController): SseReader {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let ended = false;
  const frames: SseFrame[] = [];

  const parse = () => {
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      let id: string | undefined;
      const data: string[] = [];
      let hasField = false;
      for (const line of block.split("\n")) {
        if (line === "" || line.startsWith(":")) continue; // comments: keep-alives
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
        else continue; // retry: and unknown fields carry no event
        hasField = true;
      }
      if (hasField && (data.length > 0 || event !== "message")) frames.push({ event, data: data.join("\n"), ...(id !== undefined ? { id } : {}) });
    }
  };

  const next = async (timeoutMs = 15_000): Promise<SseFrame | null> => {
    const deadline = Date.now() + timeoutMs;
    while (frames.length === 0) {
      if (ended) return null;
      const left = deadline - Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no SSE frame within ${timeoutMs} ms`)), Math.max(0, left));
      });
      try {
        const { value, done } = await Promise.race([reader.read(), timeout]);
        if (done) ended = true;
        else buffer += decoder.decode(value, { stream: true });
        parse();
      } finally {
        clearTimeout(timer);
      }
    }
    return frames.shift()!;
  };

  return {
    next,
    async until(stop, timeoutMs = 15_000) {
      const seen: SseFrame[] = [];
      for (;;) {
        const frame = await next(timeoutMs);
        if (!frame) throw new Error(`stream ended before the expected frame; saw ${JSON.stringify(seen)}`);
        seen.push(frame);
        if (stop(frame)) return seen;
      }
    },
    async rest(timeoutMs = 15_000) {
      const seen: SseFrame[] = [];
      for (let frame = await next(timeoutMs); frame; frame = await next(timeoutMs)) seen.push(frame);
      return seen;
    },
    async close() {
      ended = true;
      await reader.cancel().catch(() => {});
      abort?.abort();
    },
  };
}

/** The JSON payload of a frame. */
export const dataOf = <T = any>(f: SseFrame): T => JSON.parse(f.data) as T;
