// `npm run build`: compiles AgentVine into one executable, dist/agentvine, with everything embedded
// (migrations are imported as text, the thread entry is an extra entrypoint, public assets and the
// generated stylesheet as files).
import { mkdirSync, rmSync } from "node:fs";
import { VERSION } from "../src/version.ts";
import { buildCss } from "./build-css.ts";

const outfile = process.env.AGENTVINE_OUTFILE ?? "dist/agentvine";
rmSync(outfile, { force: true });
mkdirSync("dist", { recursive: true });

const started = performance.now();
// The bundle embeds the stylesheet, so it is generated from the views first.
await buildCss();
const result = await Bun.build({
  // Every entry sits under src/, so inside the binary the threads are ./thread-pool/thread-entry.js and
  // ./db/checkpoint-thread.js next to main (thread-pool/entry-url.ts and db/checkpoints.ts resolve them so; the binary test proves it).
  entrypoints: ["./src/main.ts", "./src/thread-pool/thread-entry.ts", "./src/db/checkpoint-thread.ts"],
  compile: {
    outfile,
    // The binary reads its configuration from flags and AGENTVINE_* only, never a stray file in its cwd.
    autoloadBunfig: false,
    autoloadDotenv: false,
    autoloadTsconfig: false,
    autoloadPackageJson: false,
  },
  target: "bun",
  format: "esm",
  minify: true,
  bytecode: true,
  sourcemap: "inline",
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
// The source map is embedded in the binary; the loose copies next to it are not needed to run it.
for (const output of result.outputs) if (output.path.endsWith(".map")) rmSync(output.path, { force: true });
const size = Bun.file(outfile).size;
console.log(`built ${outfile} (AgentVine ${VERSION}, ${(size / 1024 / 1024).toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms`);
