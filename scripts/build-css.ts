// Generates public/build/app.css with UnoCSS from the class names in the views, the HTML routes and
// public/app.js. `npm start`, `npm test` and `npm run build` run it first; the test preload runs it
// when a source is newer than the output, so a targeted `bun test` never sees a stale stylesheet.
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createGenerator } from "@unocss/core";
import { unoConfig } from "./uno.config.ts";

const root = join(import.meta.dir, "..");
export const CSS_OUTPUT = join(root, "public/build/app.css");
const SOURCES = ["views/**/*.tsx", "src/features/**/*.tsx", "src/http/**/*.tsx", "public/*.js"];

function sourceFiles(): string[] {
  const files = [join(root, "scripts/uno.config.ts"), join(root, "scripts/uno-markdown.ts")];
  for (const pattern of SOURCES) {
    for (const file of new Bun.Glob(pattern).scanSync({ cwd: root, absolute: true })) {
      if (!file.endsWith(".test.tsx")) files.push(file);
    }
  }
  return files.sort();
}

const mtime = (file: string) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
};

/** True when the stylesheet is missing or older than any file it is generated from. */
export function cssIsStale(): boolean {
  const out = mtime(CSS_OUTPUT);
  return out < 0 || sourceFiles().some((f) => mtime(f) > out);
}

export async function buildCss(): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  const uno = await createGenerator(unoConfig);
  const code = (await Promise.all(sourceFiles().map((f) => Bun.file(f).text()))).join("\n");
  const { css } = await uno.generate(code, { minify: true });
  mkdirSync(dirname(CSS_OUTPUT), { recursive: true });
  writeFileSync(CSS_OUTPUT, css);
  return { bytes: Buffer.byteLength(css), ms: Math.round(performance.now() - started) };
}

if (import.meta.main) {
  const { bytes, ms } = await buildCss();
  console.log(`generated public/build/app.css (${(bytes / 1024).toFixed(1)} KB) in ${ms} ms`);
}
