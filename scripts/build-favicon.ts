// Renders public/favicon.svg at 16, 32 and 48 px with headless Chromium and packs the PNGs into
// public/favicon.ico (an ICO whose entries are PNG images), for browsers that ask for /favicon.ico.
// Run by hand when the icon changes: `bun scripts/build-favicon.ts` (the .ico is committed).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const chromium = process.env.AGENTVINE_CHROMIUM ?? "/usr/bin/chromium";
const svg = join(root, "public/favicon.svg");
const dir = mkdtempSync(join(tmpdir(), "favicon-"));

const sizes = [16, 32, 48];
const pngs = sizes.map((size) => {
  const html = join(dir, `${size}.html`);
  const png = join(dir, `${size}.png`);
  writeFileSync(html, `<html><body style="margin:0;background:transparent"><img src="file://${svg}" width="${size}" height="${size}"></body></html>`);
  const run = Bun.spawnSync([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--default-background-color=00000000", `--window-size=${size},${size}`, `--screenshot=${png}`, `file://${html}`]);
  if (run.exitCode !== 0) throw new Error(`chromium failed: ${run.stderr.toString()}`);
  return readFileSync(png);
});
rmSync(dir, { recursive: true, force: true });

// ICONDIR (6 bytes), one ICONDIRENTRY (16 bytes) per image, then the images.
const header = Buffer.alloc(6 + 16 * sizes.length);
header.writeUInt16LE(0, 0);
header.writeUInt16LE(1, 2); // 1 = icon
header.writeUInt16LE(sizes.length, 4);
let offset = header.length;
sizes.forEach((size, i) => {
  const at = 6 + 16 * i;
  header.writeUInt8(size, at); // width (0 would mean 256)
  header.writeUInt8(size, at + 1); // height
  header.writeUInt8(0, at + 2); // no palette
  header.writeUInt8(0, at + 3);
  header.writeUInt16LE(1, at + 4); // colour planes
  header.writeUInt16LE(32, at + 6); // bits per pixel
  header.writeUInt32LE(pngs[i]!.length, at + 8);
  header.writeUInt32LE(offset, at + 12);
  offset += pngs[i]!.length;
});
const ico = Buffer.concat([header, ...pngs]);
writeFileSync(join(root, "public/favicon.ico"), ico);
console.log(`wrote public/favicon.ico (${ico.length} bytes: ${sizes.join(", ")} px)`);
