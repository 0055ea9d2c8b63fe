// Runs one autocannon load (its programmatic API) and prints a JSON summary on stdout.
// Run under node by bench/http.ts, so the load generator never shares a process with the server:
//   node bench/autocannon-run.mjs '{"url":"http://127.0.0.1:PORT/path","connections":64,"duration":10}'
import autocannon from "autocannon";

const opts = JSON.parse(process.argv[2] ?? "{}");
if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(opts.url ?? "")) {
  console.error("autocannon-run: only http://127.0.0.1 targets are allowed");
  process.exit(2);
}
const result = await autocannon({ ...opts, duration: Math.min(Number(opts.duration ?? 10), 30) });
console.log(
  JSON.stringify({
    rps: result.requests.average,
    total: result.requests.total,
    seconds: result.duration,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    mean: result.latency.average,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    throughputMBs: result.throughput.average / 1e6,
  }),
);
