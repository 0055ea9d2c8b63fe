// Sending email through nodemailer: one SMTP transport per configuration (rebuilt when an admin changes
// it), plain-text messages with an HTML twin. `null` when SMTP is not configured.
import nodemailer, { type Transporter } from "nodemailer";
import type { MailMessage, MailSender } from "../notify/outbox.ts";
import { effectiveSmtp, type EmailSettingsDeps, type Smtp } from "./settings.ts";

function transportFor(smtp: Smtp): Transporter {
  return nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure === "tls",
    requireTLS: smtp.secure === "starttls",
    ignoreTLS: smtp.secure === "none",
    auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? "" } : undefined,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
  });
}

export class Mailer {
  #key = "";
  #transport: Transporter | null = null;

  constructor(private readonly deps: EmailSettingsDeps) {}

  /** A sender for the current settings, or null while no SMTP host and sender are configured. */
  sender(): MailSender | null {
    const smtp = effectiveSmtp(this.deps);
    if (!smtp) return null;
    const key = JSON.stringify(smtp);
    if (key !== this.#key) {
      this.#transport?.close();
      this.#transport = transportFor(smtp);
      this.#key = key;
    }
    const transport = this.#transport!;
    return {
      send: async (m: MailMessage) => {
        await transport.sendMail({ from: smtp.from, to: m.to, subject: m.subject, text: m.text, html: m.html });
      },
    };
  }

  close(): void {
    this.#transport?.close();
    this.#transport = null;
    this.#key = "";
  }
}
