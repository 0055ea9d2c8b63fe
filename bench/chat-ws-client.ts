// The WebSocket clients of bench/chat.ts, in a process of their own: opens `clients` sockets spread over
// the conversations (Bearer key), says "ready" on stdout, then for each line "publish <n>" on stdin posts
// n messages (10 in flight, round-robin over the conversations) and prints one JSON line per message:
// the time from just before the POST to the last of the conversation's sockets parsing it. All times are
// this process's clock. Prints "done" at the end.
const [base, key, convList, clientsArg] = process.argv.slice(2) as [string, string, string, string];
const conversations = convList.split(",");
const clients = Number(clientsArg);
const now = () => performance.timeOrigin + performance.now();

interface Pending {
  t0: number;
  conv: string;
  left: number;
  last: number;
  resolve: () => void;
}
const pending = new Map<string, Pending>();
const perConv = new Map<string, number>();
let opened = 0;
let failed = 0;

await new Promise<void>((ready, reject) => {
  for (let i = 0; i < clients; i++) {
    const conv = conversations[i % conversations.length]!;
    perConv.set(conv, (perConv.get(conv) ?? 0) + 1);
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/api/v1/chat/ws/${conv}`, { headers: { authorization: `Bearer ${key}` } } as never);
    ws.onmessage = (e) => {
      const data = String(e.data);
      if (data.startsWith('{"type":"hello"')) {
        if (++opened === clients) ready();
        return;
      }
      if (!data.startsWith('{"type":"message"')) return;
      const at = now();
      const text = /"message":"(bench-\d+)"/.exec(data)?.[1];
      const p = text ? pending.get(text) : undefined;
      if (!p) return;
      p.last = Math.max(p.last, at);
      if (--p.left === 0) {
        pending.delete(text!);
        p.resolve();
      }
    };
    ws.onerror = () => {
      failed++;
      reject(new Error(`socket ${i} failed (${failed} so far)`));
    };
  }
});
console.log("ready");

let seq = 0;
async function publish(conv: string) {
  const text = `bench-${++seq}`;
  const done = new Promise<void>((resolve) => pending.set(text, { t0: 0, conv, left: perConv.get(conv)!, last: 0, resolve }));
  const p = pending.get(text)!;
  p.t0 = now();
  const res = await fetch(`${base}/api/v1/chat/conversations/${conv}/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ message: text }),
  });
  if (res.status !== 201) throw new Error(`post: ${res.status} ${await res.text()}`);
  await done;
  console.log(JSON.stringify({ ms: p.last - p.t0 }));
}

for await (const line of console) {
  const [cmd, n] = line.trim().split(" ");
  if (cmd !== "publish") break;
  const total = Number(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < total) {
        const i = next++;
        await publish(conversations[i % conversations.length]!);
      }
    }),
  );
  console.log("done");
}
process.exit(0);
