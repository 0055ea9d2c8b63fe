// One client process of bench/sse-fanout.ts: holds many SSE subscriptions as raw sockets (Bun.connect,
// a few hundred bytes each — fetch-based readers cost far more) and reports, over IPC, when every one
// of them has event N, when each got it, and whether any saw an event lost or out of order.
//
// What counts as event N: in "seq" mode every `fanout-seq-N` token in the stream (several may share a
// frame: log lines are batched), in "count" mode the Nth frame of one event name (frames that only
// name a topic carry no number; the sender spaces them out so none are folded together).
//
// IPC in:  {type:"connect", port, path, authorization, count, concurrency, mode}  {type:"report"}  {type:"close"}
// IPC out: {type:"connected", ok, failed, ms}  {type:"have", seq}  {type:"report", ...}
import type { Socket } from "bun";

interface Sub {
  buf: string; // undecoded bytes as latin1 (1 char = 1 byte, so chunk sizes stay byte counts)
  body: string; // decoded stream text not yet split into frames
  headers: boolean;
  chunked: boolean;
  need: number; // bytes left in the current chunk
  trail: number; // CRLF after a chunk still to skip
  last: number; // last seq seen
  count: number;
  disorder: number;
  ended: boolean;
  ok: boolean;
  frames: number; // frames of the counted event (count mode)
}

type Mode = { kind: "seq" } | { kind: "count"; event: string };

const SEQ = /fanout-seq-(\d+)/g;
let mode: Mode = { kind: "seq" };
let countedEventLine = "";
const now = () => performance.timeOrigin + performance.now();

const subs: Sub[] = [];
const sockets: Socket<Sub>[] = [];
/** receiveTimes[seq] = absolute ms at which each subscriber got event `seq`. */
const receiveTimes: number[][] = [];
const haveCount: number[] = [];
let expected = 0; // subscribers that connected
let connectedOk = 0;
let failed = 0;
let closedEarly = 0;

function onFrame(sub: Sub, frame: string) {
  if (mode.kind === "count") {
    if (frame.startsWith(countedEventLine)) onEvent(sub, ++sub.frames);
    return;
  }
  // The initial state, `retry:` and keep-alives carry no token.
  for (const m of frame.matchAll(SEQ)) onEvent(sub, Number(m[1]));
}

function onEvent(sub: Sub, seq: number) {
  if (seq !== sub.last + 1) sub.disorder++;
  sub.last = seq;
  sub.count++;
  (receiveTimes[seq] ??= []).push(now());
  haveCount[seq] = (haveCount[seq] ?? 0) + 1;
  if (haveCount[seq] === expected) process.send!({ type: "have", seq });
}

function onData(sub: Sub, bytes: Buffer, onHeaders: (ok: boolean) => void) {
  sub.buf += bytes.toString("latin1");
  if (!sub.headers) {
    const end = sub.buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = sub.buf.slice(0, end);
    sub.buf = sub.buf.slice(end + 4);
    sub.headers = true;
    sub.chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    sub.ok = /^HTTP\/1\.1 200/.test(head);
    onHeaders(sub.ok);
  }
  if (!sub.chunked) {
    sub.body += sub.buf;
    sub.buf = "";
  } else {
    let buf = sub.buf;
    while (buf.length) {
      if (sub.need > 0) {
        const take = Math.min(sub.need, buf.length);
        sub.body += buf.slice(0, take);
        buf = buf.slice(take);
        sub.need -= take;
        if (sub.need === 0) sub.trail = 2;
      } else if (sub.trail > 0) {
        const skip = Math.min(sub.trail, buf.length);
        buf = buf.slice(skip);
        sub.trail -= skip;
      } else {
        const eol = buf.indexOf("\r\n");
        if (eol < 0) break;
        const size = parseInt(buf.slice(0, eol), 16);
        buf = buf.slice(eol + 2);
        if (size === 0) {
          sub.ended = true;
          break;
        }
        sub.need = size;
      }
    }
    sub.buf = buf;
  }
  let end: number;
  while ((end = sub.body.indexOf("\n\n")) >= 0) {
    const frame = sub.body.slice(0, end);
    sub.body = sub.body.slice(end + 2);
    onFrame(sub, frame);
  }
}

async function connectAll(port: number, path: string, authorization: string, count: number, concurrency: number) {
  const started = now();
  const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nAuthorization: ${authorization}\r\n\r\n`;
  let next = 0;
  const openOne = () =>
    new Promise<void>((resolve) => {
      const sub: Sub = { buf: "", body: "", headers: false, chunked: false, need: 0, trail: 0, last: 0, count: 0, disorder: 0, ended: false, ok: false, frames: 0 };
      let settled = false;
      const settle = (ok: boolean) => {
        if (settled) return;
        settled = true;
        if (ok) connectedOk++;
        else failed++;
        resolve();
      };
      Bun.connect<Sub>({
        hostname: "127.0.0.1",
        port,
        data: sub,
        socket: {
          open(socket) {
            socket.write(request);
          },
          data(socket, bytes) {
            onData(socket.data, bytes, settle);
          },
          close(socket) {
            if (settled) closedEarly++;
            settle(false);
            socket.data.ended = true;
          },
          error() {
            settle(false);
          },
          connectError() {
            settle(false);
          },
        },
      }).then(
        (socket) => {
          subs.push(sub);
          sockets.push(socket);
        },
        () => settle(false),
      );
    });
  const lane = async () => {
    while (next < count) {
      next++;
      await openOne();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  expected = connectedOk;
  process.send!({ type: "connected", ok: connectedOk, failed, ms: now() - started });
}

process.on("message", async (msg: any) => {
  if (msg.type === "connect") {
    mode = msg.mode;
    if (mode.kind === "count") countedEventLine = `event: ${mode.event}\n`;
    await connectAll(msg.port, msg.path, msg.authorization, msg.count, msg.concurrency);
  }
  else if (msg.type === "report") {
    const live = subs.filter((s) => s.ok);
    process.send!({
      type: "report",
      subscribers: live.length,
      counts: live.map((s) => s.count),
      disorder: live.reduce((a, s) => a + s.disorder, 0),
      closedEarly,
      receiveTimes,
    });
  } else if (msg.type === "close") {
    for (const s of sockets) s.end();
    process.exit(0);
  }
});

// Never outlive the benchmark: exit when its IPC channel closes, and in any case after 10 minutes.
process.on("disconnect", () => process.exit(0));
setTimeout(() => process.exit(2), 10 * 60_000).unref();

process.send!({ type: "ready" });
