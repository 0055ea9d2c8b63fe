// axe-core in a real page: its source evaluated over the DevTools protocol (so the page's CSP, which
// refuses inline scripts, stays as it is), then a run whose serious and critical findings fail a test.
import { readFileSync } from "node:fs";
import type { Page } from "puppeteer-core";

const AXE_SOURCE = readFileSync(Bun.resolveSync("axe-core/axe.min.js", import.meta.dir), "utf8");

export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** The serious and critical accessibility problems axe finds on the page as it is now (WCAG 2.1 A/AA and best practices). */
export async function axeProblems(page: Page): Promise<AxeFinding[]> {
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === "object");
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[]; failureSummary?: string }> }> }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] }, resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? "unknown",
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}${n.failureSummary ? ` — ${n.failureSummary.replace(/\s+/g, " ").slice(0, 240)}` : ""}`),
    }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** One line per finding, for a failure message. */
export const describeFindings = (where: string, findings: AxeFinding[]) => findings.map((f) => `${where}: [${f.impact}] ${f.id} — ${f.help}\n      ${f.nodes.join("\n      ")}`);
