// The alert evaluator: each pass (`runOnce(now)`; every 15 s in the server, tests pass the instant they
// want) looks at every enabled rule, opens an alert when its condition starts to hold, fires it once the
// condition held long enough, and resolves it when the condition is gone. Each change is one transaction
// with the outbox rows of the webhooks it goes to (and people's notifications), then a bus event.
import type { Db } from "../../db/client.ts";
import { iso } from "../../engine/task-record.ts";
import type { EventBus } from "../../events/bus.ts";
import { logger } from "../../log.ts";
import { enqueueOutbox } from "../notify/outbox.ts";
import { claimableQueue, diskSpace, finishedInWindow, overdueQuestions, silentWorkers, type DiskSpace } from "./probes.ts";
import { effectiveRules, RULE_NAMES, RULE_TITLES, type RuleConfig, type RuleName } from "./rules.ts";
import { enabledWebhookTargets } from "./webhooks.ts";

const log = logger("alerts");

export interface AlertRow {
  id: string;
  rule: RuleName;
  key: string;
  status: "pending" | "firing" | "resolved";
  severity: "warning" | "critical";
  summary: string;
  value: number | null;
  details: string | null;
  pending_since: number;
  fired_at: number | null;
  resolved_at: number | null;
  updated_at: number;
}

export interface AlertJson {
  id: string;
  rule: RuleName;
  title: string;
  key: string;
  status: AlertRow["status"];
  severity: AlertRow["severity"];
  summary: string;
  value: number | null;
  details: Record<string, unknown> | null;
  pending_since: string;
  fired_at: string | null;
  resolved_at: string | null;
  updated_at: string;
}

export const alertToJson = (r: AlertRow): AlertJson => ({
  id: r.id,
  rule: r.rule,
  title: RULE_TITLES[r.rule]?.title ?? r.rule,
  key: r.key,
  status: r.status,
  severity: r.severity,
  summary: r.summary,
  value: r.value,
  details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
  pending_since: iso(r.pending_since)!,
  fired_at: iso(r.fired_at),
  resolved_at: iso(r.resolved_at),
  updated_at: iso(r.updated_at)!,
});

/** One subject of a rule whose condition holds now (the key tells subjects apart: a worker's id, or ''). */
interface Condition {
  key: string;
  value: number;
  summary: string;
  details?: Record<string, unknown>;
}

export interface AlertDeps {
  db: Db;
  bus: EventBus;
  dataDir: string;
  clock?: () => number;
  /** The address people reach the server at, for links in webhooks (null: none). */
  publicUrl?: () => string | null;
  /** Disk space of the data dir (tests replace it). */
  disk?: (dir: string) => DiskSpace;
  /** Called in the transaction of each firing or resolution (people's notifications). */
  onChange?: (alert: AlertJson, at: number) => void;
  /** Told after the commit that the outbox has rows. */
  kickOutbox?: () => void;
}

const MIN = 60_000;

export class AlertService {
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly deps: AlertDeps,
    private readonly options: { intervalMs?: number } = {},
  ) {}

  start(): void {
    const interval = this.options.intervalMs ?? 15_000;
    if (interval <= 0) return;
    this.#timer = setInterval(() => {
      try {
        this.runOnce((this.deps.clock ?? Date.now)());
      } catch (err) {
        log.error("alert pass failed:", err);
      }
    }, interval);
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** What holds now, per rule: the conditions of each enabled rule at `now`. */
  conditions(rules: RuleConfig, now: number): Partial<Record<RuleName, Condition[]>> {
    const { db } = this.deps;
    const out: Partial<Record<RuleName, Condition[]>> = {};
    const queue = claimableQueue(db, now);
    if (rules.queue_depth.enabled) {
      const r = rules.queue_depth;
      out.queue_depth = queue.depth > r.threshold ? [{ key: "", value: queue.depth, summary: `${queue.depth} work orders waiting to be claimed (over ${r.threshold} for ${r.for_minutes} min)`, details: { depth: queue.depth, threshold: r.threshold } }] : [];
    }
    if (rules.oldest_queued.enabled) {
      const age = queue.oldestRunAt === null ? 0 : now - queue.oldestRunAt;
      const max = rules.oldest_queued.max_age_minutes * MIN;
      out.oldest_queued = queue.oldestRunAt !== null && age > max ? [{ key: "", value: Math.round(age / 1000), summary: `the oldest claimable work order has waited ${Math.round(age / MIN)} min (limit ${rules.oldest_queued.max_age_minutes} min): no worker can or does take it`, details: { age_seconds: Math.round(age / 1000) } }] : [];
    }
    if (rules.worker_offline.enabled) {
      out.worker_offline = silentWorkers(db, now).map((w) => ({
        key: w.id,
        value: w.last_heartbeat_at === null ? 0 : Math.round((now - w.last_heartbeat_at) / 1000),
        summary: `worker ${w.name}${w.hostname ? ` on ${w.hostname}` : ""} is offline${w.last_heartbeat_at ? ` since ${iso(w.last_heartbeat_at)}` : ""} (drain and remove it if it was retired)`,
        details: { worker_id: w.id, name: w.name, hostname: w.hostname, last_heartbeat_at: iso(w.last_heartbeat_at) },
      }));
    }
    if (rules.failure_rate.enabled) {
      const r = rules.failure_rate;
      const { finished, failed } = finishedInWindow(db, now, r.window_minutes * MIN);
      const percent = finished ? (failed / finished) * 100 : 0;
      out.failure_rate = finished >= r.min_tasks && percent > r.percent ? [{ key: "", value: Math.round(percent * 10) / 10, summary: `${failed} of ${finished} tasks that finished in the last ${r.window_minutes} min failed (${percent.toFixed(1)}%, limit ${r.percent}%)`, details: { finished, failed, percent } }] : [];
    }
    if (rules.question_overdue.enabled) {
      const q = overdueQuestions(db, now, rules.question_overdue.grace_minutes * MIN);
      out.question_overdue = q.count ? [{ key: "", value: q.count, summary: `${q.count} open question${q.count === 1 ? " is" : "s are"} past the deadline (the oldest since ${iso(q.oldestDeadline)})`, details: { count: q.count, request_ids: q.ids } }] : [];
    }
    if (rules.disk_space.enabled) {
      const r = rules.disk_space;
      const d = (this.deps.disk ?? diskSpace)(this.deps.dataDir);
      const freeMb = d.freeBytes / 1024 / 1024;
      out.disk_space = d.freePercent < r.min_free_percent || freeMb < r.min_free_mb ? [{ key: "", value: Math.round(d.freePercent * 10) / 10, summary: `the data directory's disk has ${freeMb.toFixed(0)} MB free (${d.freePercent.toFixed(1)}%; limits ${r.min_free_percent}% and ${r.min_free_mb} MB)`, details: { free_bytes: d.freeBytes, total_bytes: d.totalBytes } }] : [];
    }
    return out;
  }

  /** One pass at `now`; returns the alerts that fired and those that resolved. */
  runOnce(now: number): { fired: AlertJson[]; resolved: AlertJson[] } {
    const rules = effectiveRules(this.deps);
    const conditions = this.conditions(rules, now);
    const fired: AlertJson[] = [];
    const resolved: AlertJson[] = [];
    const { sqlite } = this.deps.db;
    sqlite
      .transaction(() => {
        const open = sqlite.query<AlertRow, []>("SELECT * FROM alerts WHERE status <> 'resolved'").all();
        const openBy = new Map(open.map((a) => [`${a.rule}\0${a.key}`, a]));
        const holding = new Set<string>();
        for (const rule of RULE_NAMES) {
          const forMs = rule === "queue_depth" ? rules.queue_depth.for_minutes * MIN : rule === "worker_offline" ? rules.worker_offline.for_minutes * MIN : 0;
          for (const c of conditions[rule] ?? []) {
            const k = `${rule}\0${c.key}`;
            holding.add(k);
            const existing = openBy.get(k);
            const details = c.details ? JSON.stringify(c.details) : null;
            if (!existing) {
              const fire = forMs === 0;
              const row: AlertRow = { id: Bun.randomUUIDv7(), rule, key: c.key, status: fire ? "firing" : "pending", severity: RULE_TITLES[rule].severity, summary: c.summary, value: c.value, details, pending_since: now, fired_at: fire ? now : null, resolved_at: null, updated_at: now };
              sqlite
                .query("INSERT INTO alerts (id, rule, key, status, severity, summary, value, details, pending_since, fired_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .run(row.id, rule, c.key, row.status, row.severity, c.summary, c.value, details, now, row.fired_at, now);
              if (fire) fired.push(this.#announce(row, now));
            } else if (existing.status === "pending" && now - existing.pending_since >= forMs) {
              sqlite.query("UPDATE alerts SET status = 'firing', fired_at = ?, summary = ?, value = ?, details = ?, updated_at = ? WHERE id = ? AND status = 'pending'").run(now, c.summary, c.value, details, now, existing.id);
              fired.push(this.#announce({ ...existing, status: "firing", fired_at: now, summary: c.summary, value: c.value, details, updated_at: now }, now));
            } else {
              sqlite.query("UPDATE alerts SET summary = ?, value = ?, details = ?, updated_at = ? WHERE id = ?").run(c.summary, c.value, details, now, existing.id);
            }
          }
        }
        for (const a of open) {
          if (holding.has(`${a.rule}\0${a.key}`)) continue;
          if (a.status === "pending") {
            // It never fired: nobody was told, so nothing is resolved either.
            sqlite.query("DELETE FROM alerts WHERE id = ? AND status = 'pending'").run(a.id);
            continue;
          }
          const summary = rules[a.rule]?.enabled === false ? `${a.summary} — the rule was turned off` : a.summary;
          sqlite.query("UPDATE alerts SET status = 'resolved', resolved_at = ?, summary = ?, updated_at = ? WHERE id = ? AND status = 'firing'").run(now, summary, now, a.id);
          resolved.push(this.#announce({ ...a, status: "resolved", resolved_at: now, summary, updated_at: now }, now));
        }
      })
      .immediate();
    for (const a of [...fired, ...resolved]) this.deps.bus.emit("alert:changed", { alertId: a.id, rule: a.rule, status: a.status as "firing" | "resolved", at: now });
    if (fired.length || resolved.length) this.deps.kickOutbox?.();
    return { fired, resolved };
  }

  /** The webhooks' outbox rows and people's notifications of one change (inside the pass's transaction). */
  #announce(row: AlertRow, now: number): AlertJson {
    const alert = alertToJson(row);
    const base = this.deps.publicUrl?.() ?? null;
    const state = alert.status === "firing" ? "FIRING" : "RESOLVED";
    const payload = {
      alert,
      text: `[${state}] ${alert.title}: ${alert.summary}`,
      url: base ? `${base}/alerts#alert-${alert.id}` : null,
    };
    for (const target of enabledWebhookTargets(this.deps.db)) {
      enqueueOutbox(this.deps.db, { channel: "webhook", target, event: `alert.${alert.status}`, payload, source: `alert:${alert.id}` }, now);
    }
    this.deps.onChange?.(alert, now);
    return alert;
  }

  /** Firing alerts, most severe and newest first: the banner. */
  firing(): AlertJson[] {
    return this.deps.db.sqlite
      .query<AlertRow, []>("SELECT * FROM alerts WHERE status = 'firing' ORDER BY severity = 'critical' DESC, fired_at DESC LIMIT 50")
      .all()
      .map(alertToJson);
  }

  /** Alerts resolved after `since` (the banner shows them for a while). */
  resolvedSince(since: number): AlertJson[] {
    return this.deps.db.sqlite.query<AlertRow, [number]>("SELECT * FROM alerts WHERE status = 'resolved' AND resolved_at > ? ORDER BY resolved_at DESC LIMIT 10").all(since).map(alertToJson);
  }

  list(q: { page: number; per_page: number; status?: AlertRow["status"] }) {
    const where = q.status ? "WHERE status = ?" : "";
    const params: Array<string | number> = q.status ? [q.status] : [];
    const items = this.deps.db.sqlite
      .query<AlertRow, Array<string | number>>(`SELECT * FROM alerts ${where} ORDER BY status = 'firing' DESC, status = 'pending' DESC, updated_at DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...params, q.per_page, (q.page - 1) * q.per_page);
    const total = this.deps.db.sqlite.query<{ n: number }, Array<string | number>>(`SELECT count(*) AS n FROM alerts ${where}`).get(...params)!.n;
    return { items: items.map(alertToJson), total, page: q.page, per_page: q.per_page };
  }
}
