/** @jsxImportSource hono/jsx */
// /notifications (my in-app list, mark all read) and /settings/notifications (which events reach me and
// how; the Settings page loads it in place), plus "send me a verification link".
import { Hono, type Context } from "hono";
import { AppError, zodDetails } from "../../errors.ts";
import { actionDone, fragment, isHtmx, page } from "../../pages/render.tsx";
import { errorsOf } from "../../../views/components/form.tsx";
import { NotificationSettings, NotificationSettingsPage, NotificationsPage } from "../../../views/notifications/pages.tsx";
import { mailVerification } from "../email/auth-mail.ts";
import { principalOf } from "../auth/middleware.ts";
import { actingOf } from "../auth/request.ts";
import { CHANNELS, EVENTS, PreferencesBody, preferencesOf, savePreferences } from "./preferences.ts";
import { listNotifications, markRead } from "./notifier.ts";

type Ctx = Context;
const prefDeps = (c: Ctx) => ({ db: c.get("deps").db, secrets: c.get("secrets") });
const canMail = (c: Ctx) => Boolean(c.get("email").mailer());

export const notificationPages = new Hono()
  .get("/notifications", (c) => {
    const list = listNotifications(c.get("deps").db, principalOf(c).userId, { page: 1, per_page: 100 });
    if (isHtmx(c)) return fragment(c, <NotificationsPage items={list.items} unread={list.unread} />);
    return page(c, { title: "Notifications", active: "notifications" }, <NotificationsPage items={list.items} unread={list.unread} />);
  })
  .post("/notifications/read", (c) => {
    const n = markRead(c.get("deps").db, principalOf(c).userId, null, Date.now());
    return actionDone(c, { message: `${n} marked read`, redirect: "/notifications" });
  })
  .get("/settings/notifications", (c) => {
    const props = { prefs: preferencesOf(prefDeps(c), principalOf(c).userId), canMail: canMail(c) };
    if (isHtmx(c)) return fragment(c, <NotificationSettings {...props} />);
    return page(c, { title: "Notification settings", active: "settings" }, <NotificationSettingsPage {...props} />);
  })
  .post("/settings/notifications", async (c) => {
    const form = await c.req.parseBody();
    const body: Record<string, unknown> = {};
    for (const e of EVENTS) body[e] = Object.fromEntries(CHANNELS.map((ch) => [ch, form[`${e}.${ch}`] === "1"]));
    const url = typeof form.webhook_url === "string" ? form.webhook_url.trim() : "";
    const secret = typeof form.webhook_secret === "string" ? form.webhook_secret : "";
    if (form.remove_webhook === "1") Object.assign(body, { webhook_url: null, webhook_secret: null });
    else {
      if (url) body.webhook_url = url;
      if (secret) body.webhook_secret = secret;
    }
    const userId = principalOf(c).userId;
    const again = (errors: Record<string, string>) => {
      const props = { prefs: preferencesOf(prefDeps(c), userId), canMail: canMail(c), errors };
      return isHtmx(c) ? fragment(c, <NotificationSettings {...props} />, 422) : page(c, { title: "Notification settings", active: "settings", status: 422 }, <NotificationSettingsPage {...props} />);
    };
    const parsed = PreferencesBody.safeParse(body);
    if (!parsed.success) return again(errorsOf(zodDetails(parsed.error)));
    let prefs;
    try {
      prefs = savePreferences(prefDeps(c), userId, parsed.data, actingOf(c));
    } catch (err) {
      if (err instanceof AppError && err.status === 400) return again(errorsOf(err.details, err.message));
      throw err;
    }
    return actionDone(c, { message: "Notification settings saved", redirect: "/settings/notifications", body: <NotificationSettings prefs={prefs} canMail={canMail(c)} /> });
  })
  .post("/settings/verify-email", async (c) => {
    const sent = await mailVerification(c.get("email"), principalOf(c).userId);
    return actionDone(c, { message: sent ? "A verification link is on its way: open it from your mailbox" : "No link sent: no unverified address, or this server does not send email", level: sent ? "success" : "error", redirect: "/settings/notifications" });
  });
