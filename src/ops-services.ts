// The operations services `serve` runs beside the engine, built in one place: the scheduler, the alert
// evaluator, the outbox that delivers webhooks and email, the notifier, and email (SMTP, account mail).
import type { ServeConfig } from "./config.ts";
import type { EngineDeps } from "./engine/engine-deps.ts";
import { AlertService } from "./features/alerts/service.ts";
import { resolveAlertWebhook } from "./features/alerts/webhooks.ts";
import type { AuthDeps } from "./features/auth/auth-services.ts";
import { mailVerification, type AuthMailDeps } from "./features/email/auth-mail.ts";
import { Mailer } from "./features/email/mailer.ts";
import type { EmailSettingsDeps } from "./features/email/settings.ts";
import { Notifier } from "./features/notifications/notifier.ts";
import { OutboxDeliverer } from "./features/notify/outbox.ts";
import { Scheduler } from "./features/schedules/scheduler.ts";
import type { SecretStore } from "./features/secrets/store.ts";
import { logger } from "./log.ts";

const log = logger("ops");

export interface OpsServices {
  scheduler: Scheduler;
  alerts: AlertService;
  outbox: OutboxDeliverer;
  notifier: Notifier;
  /** SMTP settings, the mailer and what account mail needs. */
  email: EmailSettingsDeps & AuthMailDeps & { mail: Mailer };
  start(): void;
  /** Resolves once the outbox's delivery in flight is recorded (before the database closes). */
  stop(): Promise<void>;
}

export interface OpsOptions {
  /** Scheduler and alert passes (ms); 0: none — tests call runOnce(now). */
  intervalMs?: number;
  /** The outbox's rounds and its webhooks' first retry wait (tests make them tiny). */
  outboxRetryMs?: number;
  outboxBaseMs?: number;
}

export function createOpsServices(
  deps: EngineDeps & { secrets: SecretStore },
  auth: AuthDeps,
  config: Pick<ServeConfig, "dataDir" | "defaultTimeoutSeconds" | "defaultMaxRetries" | "smtpHost" | "smtpPort" | "smtpSecure" | "smtpUser" | "smtpFrom" | "smtpPassword">,
  publicUrl: () => string | null,
  options: OpsOptions = {},
): OpsServices {
  const { db, bus, secrets } = deps;
  const settingsDeps: EmailSettingsDeps = {
    db,
    secrets,
    config: { smtpHost: config.smtpHost, smtpPort: config.smtpPort, smtpSecure: config.smtpSecure, smtpUser: config.smtpUser, smtpFrom: config.smtpFrom, smtpPassword: config.smtpPassword },
  };
  const mail = new Mailer(settingsDeps);
  const email = { ...settingsDeps, auth, mail, mailer: () => mail.sender(), baseUrl: publicUrl };
  let outbox: OutboxDeliverer | null = null;
  const kickOutbox = () => outbox?.kick();
  const notifier = new Notifier({ db, bus, secrets, publicUrl, kickOutbox });
  outbox = new OutboxDeliverer(
    { db },
    {
      webhook: (target) => (target.startsWith("user:") ? notifier.resolveUserWebhook(target) : resolveAlertWebhook({ db, secrets }, target)),
      mailer: () => mail.sender(),
    },
    { retryMs: options.outboxRetryMs, baseMs: options.outboxBaseMs },
  );
  const interval = options.intervalMs;
  const scheduler = new Scheduler({ ...deps, defaults: { timeoutSeconds: config.defaultTimeoutSeconds, maxRetries: config.defaultMaxRetries } }, { intervalMs: interval === 0 ? 0 : 1000 });
  const alerts = new AlertService({ db, bus, dataDir: config.dataDir, publicUrl, onChange: (a, at) => notifier.alertChanged(a, at), kickOutbox }, { intervalMs: interval === 0 ? 0 : 15_000 });
  // A new address gets its verification link (when email is configured).
  auth.onEmailSet = (userId) => {
    mailVerification(email, userId).catch((err) => log.warn(`the verification mail could not be sent: ${(err as Error).message}`));
  };
  return {
    scheduler,
    alerts,
    outbox,
    notifier,
    email,
    start() {
      notifier.start();
      outbox!.start();
      scheduler.start();
      alerts.start();
    },
    async stop() {
      alerts.stop();
      scheduler.stop();
      notifier.stop();
      auth.onEmailSet = undefined;
      await outbox!.stop();
      mail.close();
    },
  };
}
