// A real SMTP server on loopback for tests (the `smtp-server` package: the protocol as any relay speaks it,
// with AUTH), collecting each message; a test waits for the mail it expects and reads its link.
import { SMTPServer } from "smtp-server";

export interface Mail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  /** The text body, quoted-printable decoded. */
  text: string;
}

function decodeQuotedPrintable(s: string): string {
  return s.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export async function startSmtpServer(auth: { user: string; pass: string }) {
  const mails: Mail[] = [];
  const waiters: Array<() => void> = [];
  const logins: string[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authMethods: ["PLAIN", "LOGIN"],
    onAuth(a, _session, cb) {
      logins.push(a.username ?? "");
      if (a.username === auth.user && a.password === auth.pass) return cb(null, { user: a.username });
      return cb(new Error("Invalid username or password"));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const [head = "", ...rest] = raw.split(/\r?\n\r?\n/);
        const subject = /^Subject: (.*)$/m.exec(head)?.[1] ?? "";
        // The first text/plain part (nodemailer sends text and HTML as multipart/alternative).
        const body = rest.join("\n\n");
        const plain = /Content-Type: text\/plain[^\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([\s\S]*?)\r?\n--/i.exec(body)?.[1] ?? body;
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "", to: session.envelope.rcptTo.map((r) => r.address), raw, subject, text: decodeQuotedPrintable(plain) });
        for (const w of [...waiters]) w();
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    mails,
    logins,
    /** The first mail (from `after` on) that matches; waits for it to arrive. */
    waitFor(match: (m: Mail) => boolean, timeoutMs = 20_000): Promise<Mail> {
      const found = mails.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching mail within ${timeoutMs} ms (got ${mails.map((m) => m.subject).join(", ") || "none"})`)), timeoutMs);
        const check = () => {
          const m = mails.find(match);
          if (!m) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve(m);
        };
        waiters.push(check);
      });
    },
    linkIn(mail: Mail, path: string): string {
      const m = new RegExp(`https?://[^\\s"<>]+${path}\\?token=[A-Za-z0-9_-]+`).exec(mail.text);
      if (!m) throw new Error(`no ${path} link in: ${mail.text}`);
      return m[0];
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
