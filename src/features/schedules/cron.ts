// Cron expressions through croner: checked once (naming what is wrong), and the slots of a schedule
// computed from any instant, so the scheduler and the pages need no clock of their own.
import { Cron } from "croner";

export interface CronSpec {
  cron: string;
  timezone: string;
}

/** Five fields (minute hour day-of-month month day-of-week) or a nickname such as @daily, in `timezone`. */
function parse(spec: CronSpec): Cron {
  return new Cron(spec.cron, { paused: true, timezone: spec.timezone, mode: "5-part" });
}

/** What is wrong with the expression or the time zone, by field; empty when the schedule can run. */
export function cronProblems(spec: CronSpec): Array<{ field: "cron" | "timezone"; message: string }> {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: spec.timezone });
  } catch {
    return [{ field: "timezone", message: `unknown time zone '${spec.timezone}': use an IANA name such as UTC or Europe/Berlin` }];
  }
  try {
    const next = parse(spec).nextRun(new Date());
    if (!next) return [{ field: "cron", message: "never runs: no future time matches this expression" }];
  } catch (err) {
    const message = (err as Error).message.replace(/^CronPattern: /, "");
    return [{ field: "cron", message: `${message} (five fields: minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly)` }];
  }
  return [];
}

/** The first slot strictly after `after` (epoch ms), or null when there is none. */
export function nextSlot(spec: CronSpec, after: number): number | null {
  return parse(spec).nextRun(new Date(after))?.getTime() ?? null;
}

/** Up to `limit` slots strictly after `after`. */
export function nextSlots(spec: CronSpec, after: number, limit: number): number[] {
  return parse(spec).nextRuns(limit, new Date(after)).map((d) => d.getTime());
}

/** The slots in (`from` − 1 ms, `to`], oldest first, at most `limit` of them (the newest kept). */
export function slotsBetween(spec: CronSpec, from: number, to: number, limit = 1000): { slots: number[]; more: boolean } {
  const cron = parse(spec);
  const slots: number[] = [];
  let more = false;
  for (let at = cron.nextRun(new Date(from - 1)); at && at.getTime() <= to; at = cron.nextRun(at)) {
    slots.push(at.getTime());
    if (slots.length > limit) {
      slots.shift();
      more = true;
    }
  }
  return { slots, more };
}
