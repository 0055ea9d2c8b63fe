// The code's shape, checked like behaviour: dependency-cruiser's rules (.dependency-cruiser.cjs) hold —
// no import circles, every arrow points down the layers of docs/ARCHITECTURE.md.
import { expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "..");

test("no import circle, and no layer imports one above it", async () => {
  const proc = Bun.spawn(["node", join(root, "node_modules/dependency-cruiser/bin/dependency-cruise.mjs"), "src", "views", "--config", ".dependency-cruiser.cjs", "--output-type", "err"], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  // On failure the report names each offending import and the rule it breaks.
  expect(`${out}${err}`.trim()).toContain("no dependency violations found");
  expect(code).toBe(0);
}, 60_000);
