// SMTP as it stands: what an admin saved on the Email settings page (the `settings` table, the password in
// the encrypted secrets store) over the server's flags and AGENTVINE_SMTP_* environment.
import type { Db } from "../../db/client.ts";
import type { Acting } from "../audit/service.ts";
import { readSetting, writeSetting } from "../settings/store.ts";

export const SMTP_PASSWORD_SECRET = "AGENTVINE_SMTP_PASSWORD";
export const SMTP_SECURE = ["starttls", "tls", "none"] as const;
export type SmtpSecure = (typeof SMTP_SECURE)[number];

/** The flags' part (`--smtp-*`, AGENTVINE_SMTP_*). */
export interface SmtpConfig {
  smtpHost?: string;
  smtpPort?: number;
  smtpSecure?: SmtpSecure;
  smtpUser?: string;
  smtpFrom?: string;
  smtpPassword?: string;
}

/** What the page saves (a field left out falls back to the configuration). */
export interface SavedSmtp {
  host?: string | null;
  port?: number | null;
  secure?: SmtpSecure | null;
  user?: string | null;
  from?: string | null;
}

export interface Smtp {
  host: string;
  port: number;
  secure: SmtpSecure;
  user: string | null;
  password: string | null;
  from: string;
}

export interface EmailSettingsDeps {
  db: Db;
  config: SmtpConfig;
  secrets: { reveal(name: string): string | undefined };
  clock?: () => number;
}

const SETTING = "email.smtp";

export function smtpView(deps: EmailSettingsDeps) {
  const saved = readSetting<SavedSmtp>(deps, SETTING) ?? {};
  const c = deps.config;
  const pick = <T>(s: T | null | undefined, fallback: T | undefined) => (s === undefined ? fallback : (s ?? undefined));
  const secure = pick(saved.secure, c.smtpSecure) ?? "starttls";
  return {
    host: pick(saved.host, c.smtpHost) ?? null,
    port: pick(saved.port, c.smtpPort) ?? (secure === "tls" ? 465 : 587),
    secure,
    user: pick(saved.user, c.smtpUser) ?? null,
    from: pick(saved.from, c.smtpFrom) ?? null,
    has_password: Boolean(deps.secrets.reveal(SMTP_PASSWORD_SECRET) ?? c.smtpPassword),
    source: Object.keys(saved).length ? ("settings" as const) : c.smtpHost ? ("configuration" as const) : ("none" as const),
  };
}

/** The SMTP the mailer uses, or null when no host or sender is set (then no email is sent). */
export function effectiveSmtp(deps: EmailSettingsDeps): Smtp | null {
  const v = smtpView(deps);
  if (!v.host || !v.from) return null;
  return { host: v.host, port: v.port, secure: v.secure, user: v.user, password: deps.secrets.reveal(SMTP_PASSWORD_SECRET) ?? deps.config.smtpPassword ?? null, from: v.from };
}

export function saveSmtp(deps: EmailSettingsDeps, saved: SavedSmtp | null, acting?: Acting): void {
  writeSetting(deps, SETTING, saved, acting, saved ? { ...saved } : { reset: true });
}
