// A local OTLP/HTTP logs receiver on loopback for tests: it speaks the protocol (POST /v1/logs, the JSON
// encoding of ExportLogsServiceRequest) and checks each request against opentelemetry-proto's JSON
// mapping — a malformed export is answered 400 and recorded as a problem — and can be told to fail.

export interface ReceivedRecord {
  resource: Record<string, unknown>;
  scope: { name?: string; version?: string };
  timeUnixNano: string;
  observedTimeUnixNano?: string;
  severityNumber: number;
  severityText?: string;
  body: unknown;
  attributes: Record<string, unknown>;
  traceId?: string;
}

export interface FakeOtlp {
  url: string;
  records: ReceivedRecord[];
  requests: Array<{ headers: Headers }>;
  problems: string[];
  /** `ok` answers 200; a number answers that status (e.g. 503: the backend is down). */
  mode: "ok" | number;
  /** Resolves once `n` records arrived. */
  waitForRecords(n: number, timeoutMs?: number): Promise<ReceivedRecord[]>;
  /** Resolves once `n` export requests came in (answered or not). */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  stop(): void;
}

const RECORD_KEYS = new Set(["timeUnixNano", "observedTimeUnixNano", "severityNumber", "severityText", "body", "attributes", "droppedAttributesCount", "flags", "traceId", "spanId", "eventName"]);

/** AnyValue → a plain value; throws on anything the JSON mapping does not allow. */
function plain(v: any, path: string): unknown {
  if (!v || typeof v !== "object") throw new Error(`${path}: an AnyValue is an object`);
  const keys = Object.keys(v);
  if (keys.length !== 1) throw new Error(`${path}: an AnyValue has exactly one of its fields, got ${keys.join(", ") || "none"}`);
  const [k] = keys;
  const x = v[k!];
  switch (k) {
    case "stringValue":
      if (typeof x !== "string") throw new Error(`${path}.stringValue is not a string`);
      return x;
    case "boolValue":
      if (typeof x !== "boolean") throw new Error(`${path}.boolValue is not a boolean`);
      return x;
    case "intValue":
      if (!(typeof x === "string" ? /^-?\d+$/.test(x) : Number.isInteger(x))) throw new Error(`${path}.intValue is not an int64`);
      return Number(x);
    case "doubleValue":
      if (typeof x !== "number") throw new Error(`${path}.doubleValue is not a number`);
      return x;
    case "arrayValue":
      if (!Array.isArray(x?.values)) throw new Error(`${path}.arrayValue.values is not an array`);
      return x.values.map((e: unknown, i: number) => plain(e, `${path}.arrayValue.values[${i}]`));
    case "kvlistValue":
      return attributes(x?.values, `${path}.kvlistValue.values`);
    default:
      throw new Error(`${path}: unknown AnyValue field ${k}`);
  }
}

function attributes(list: any, path: string): Record<string, unknown> {
  if (list === undefined) return {};
  if (!Array.isArray(list)) throw new Error(`${path} is not a list of KeyValue`);
  const out: Record<string, unknown> = {};
  list.forEach((kv, i) => {
    if (typeof kv?.key !== "string") throw new Error(`${path}[${i}].key is not a string`);
    out[kv.key] = plain(kv.value, `${path}[${i}].value`);
  });
  return out;
}

function parseExport(body: any): ReceivedRecord[] {
  if (!Array.isArray(body?.resourceLogs)) throw new Error("resourceLogs is not an array");
  const out: ReceivedRecord[] = [];
  body.resourceLogs.forEach((rl: any, i: number) => {
    const resource = attributes(rl.resource?.attributes, `resourceLogs[${i}].resource.attributes`);
    if (!Array.isArray(rl.scopeLogs)) throw new Error(`resourceLogs[${i}].scopeLogs is not an array`);
    rl.scopeLogs.forEach((sl: any, j: number) => {
      if (!Array.isArray(sl.logRecords)) throw new Error(`scopeLogs[${j}].logRecords is not an array`);
      sl.logRecords.forEach((r: any, k: number) => {
        const at = `resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]`;
        for (const key of Object.keys(r)) if (!RECORD_KEYS.has(key)) throw new Error(`${at}: unknown field ${key}`);
        if (typeof r.timeUnixNano !== "string" || !/^\d+$/.test(r.timeUnixNano)) throw new Error(`${at}.timeUnixNano is not a fixed64 as a decimal string`);
        if (!Number.isInteger(r.severityNumber) || r.severityNumber < 1 || r.severityNumber > 24) throw new Error(`${at}.severityNumber is not a SeverityNumber`);
        if (r.traceId !== undefined && !/^[0-9a-f]{32}$/.test(r.traceId)) throw new Error(`${at}.traceId is not 16 bytes in hex`);
        out.push({
          resource,
          scope: sl.scope ?? {},
          timeUnixNano: r.timeUnixNano,
          observedTimeUnixNano: r.observedTimeUnixNano,
          severityNumber: r.severityNumber,
          severityText: r.severityText,
          body: plain(r.body, `${at}.body`),
          attributes: attributes(r.attributes, `${at}.attributes`),
          traceId: r.traceId,
        });
      });
    });
  });
  return out;
}

export function startFakeOtlp(): FakeOtlp {
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const requestWaiters: Array<{ n: number; resolve: () => void }> = [];
  const fake: FakeOtlp = {
    url: "",
    records: [],
    requests: [],
    problems: [],
    mode: "ok",
    waitForRecords(n, timeoutMs = 20_000) {
      if (fake.records.length >= n) return Promise.resolve(fake.records);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${fake.records.length} of ${n} records arrived`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve(fake.records)) });
      });
    },
    waitForRequests(n, timeoutMs = 20_000) {
      if (fake.requests.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${fake.requests.length} of ${n} requests came`)), timeoutMs);
        requestWaiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    stop: () => server.stop(true),
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "POST" || url.pathname !== "/v1/logs") return new Response("not found", { status: 404 });
      fake.requests.push({ headers: req.headers });
      for (const w of requestWaiters.splice(0)) if (fake.requests.length >= w.n) w.resolve();
      else requestWaiters.push(w);
      if (fake.mode !== "ok") return new Response(JSON.stringify({ code: 14, message: "unavailable" }), { status: fake.mode });
      if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) {
        fake.problems.push(`content-type ${req.headers.get("content-type")}`);
        return new Response("json only", { status: 415 });
      }
      try {
        fake.records.push(...parseExport(await req.json()));
      } catch (err) {
        fake.problems.push((err as Error).message);
        return Response.json({ code: 3, message: (err as Error).message }, { status: 400 });
      }
      for (const w of waiters.splice(0)) if (fake.records.length >= w.n) w.resolve();
      else waiters.push(w);
      return Response.json({});
    },
  });
  fake.url = `http://127.0.0.1:${server.port}`;
  return fake;
}
