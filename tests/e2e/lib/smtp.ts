// A raw SMTP dialog (to see exactly what the server offers and answers) and nodemailer transports.
import net from "node:net";
import tls from "node:tls";
import nodemailer from "nodemailer";
import { Lab, LabUser, labCa } from "./lab";
import { Wakeup } from "./wait";

export interface Reply {
  code: number;
  lines: string[];
  text: string;
}

/** One SMTP connection, read reply by reply; STARTTLS upgrades it in place. */
export class SmtpDialog {
  private buffer = "";
  private lines: string[] = [];
  private readonly wake = new Wakeup();
  private closed = false;
  greeting!: Reply;

  private constructor(private socket: net.Socket) {
    this.attach(socket);
  }

  static async open(
    host: string,
    port: number,
    opts: { localAddress?: string; tls?: tls.ConnectionOptions; timeoutMs?: number } = {},
  ): Promise<SmtpDialog> {
    let socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port, localAddress: opts.localAddress }, () => resolve(s));
      s.once("error", reject);
    });
    if (opts.tls) socket = await upgradeToTls(socket, opts.tls);
    const d = new SmtpDialog(socket);
    d.greeting = await d.read(opts.timeoutMs ?? 15_000);
    return d;
  }

  private attach(socket: net.Socket): void {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      let i: number;
      while ((i = this.buffer.indexOf("\r\n")) >= 0) {
        this.lines.push(this.buffer.slice(0, i));
        this.buffer = this.buffer.slice(i + 2);
      }
      this.wake.notify();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake.notify();
    });
    socket.on("error", () => undefined);
  }

  /** Reads one (possibly multi-line) reply. */
  async read(timeoutMs = 30_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.lines.findIndex((l) => /^\d{3}( |$)/.test(l));
      if (end >= 0) {
        const lines = this.lines.splice(0, end + 1);
        return { code: Number(lines[end].slice(0, 3)), lines, text: lines.join("\n") };
      }
      if (this.closed) throw new Error(`connection closed before a complete reply (got: ${this.lines.join(" | ")})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SMTP reply within ${timeoutMs} ms (got: ${this.lines.join(" | ")})`);
      await this.wake.next(left);
    }
  }

  async command(line: string): Promise<Reply> {
    this.socket.write(`${line}\r\n`);
    return this.read();
  }

  /** EHLO, returning the upper-cased extension keywords (AUTH, STARTTLS, …). */
  async ehlo(name = "e2e.client.test"): Promise<{ reply: Reply; keywords: string[] }> {
    const reply = await this.command(`EHLO ${name}`);
    const keywords = reply.lines.slice(1).map((l) => l.slice(4).split(" ")[0].toUpperCase());
    return { reply, keywords };
  }

  async starttls(options: tls.ConnectionOptions): Promise<void> {
    const r = await this.command("STARTTLS");
    if (r.code !== 220) throw new Error(`STARTTLS refused: ${r.text}`);
    this.socket = await upgradeToTls(this.socket, options);
    this.closed = false;
    this.attach(this.socket);
  }

  /** AUTH PLAIN; the credentials go only into the encrypted socket. */
  async authPlain(user: string, password: string): Promise<Reply> {
    return this.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString("base64")}`);
  }

  /** DATA with dot-stuffing; returns the final reply. */
  async data(message: string): Promise<Reply> {
    const r = await this.command("DATA");
    if (r.code !== 354) return r;
    const body = message.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
    this.socket.write(`${body}${body.endsWith("\r\n") ? "" : "\r\n"}.\r\n`);
    return this.read();
  }

  /** Writes bytes exactly as given (no dot-stuffing, no line-end repair): for protocol-abuse tests. */
  write(raw: string): void {
    this.socket.write(raw);
  }

  close(): void {
    if (!this.closed) this.socket.write("QUIT\r\n");
    this.socket.end();
    this.socket.destroy();
  }
}

/** Port 25 as the Internet sees it: from the host side of the lab network (mynetworks trusts only the
 * machine's loopback), EHLO, STARTTLS, EHLO again. */
export async function outsideDialog(lab: Lab): Promise<SmtpDialog> {
  const d = await SmtpDialog.open(lab.ip, 25, { localAddress: lab.hostAddress });
  await d.ehlo();
  await d.starttls(labTls(lab));
  await d.ehlo();
  return d;
}

/** Submission on 587 as `user`: STARTTLS, then AUTH PLAIN. */
export async function submissionDialog(lab: Lab, user: LabUser): Promise<SmtpDialog> {
  const d = await SmtpDialog.open(lab.ip, 587);
  await d.ehlo();
  await d.starttls(labTls(lab));
  await d.ehlo();
  const auth = await d.authPlain(user.address, user.password);
  if (auth.code !== 235) throw new Error(`${user.address} could not log in: ${auth.text}`);
  return d;
}

/** MAIL and RCPT: the first refusal (Postfix may defer a sender refusal to RCPT: smtpd_delay_reject). */
export async function envelope(d: SmtpDialog, from: string, to: string): Promise<Reply> {
  const mail = await d.command(`MAIL FROM:<${from}>`);
  if (mail.code >= 400) return mail;
  return d.command(`RCPT TO:<${to}>`);
}

/** TLS options that trust only the lab's ACME root and check the hostname. */
export function labTls(lab: Lab): tls.ConnectionOptions {
  return { ca: labCa(lab), servername: lab.hostname, rejectUnauthorized: true };
}

export function submission(lab: Lab, user: LabUser, port: 587 | 465) {
  return nodemailer.createTransport({
    host: lab.ip,
    port,
    secure: port === 465,
    requireTLS: port === 587,
    auth: { user: user.address, pass: user.password },
    tls: { ca: labCa(lab), servername: lab.hostname, rejectUnauthorized: true },
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
  });
}

/** A small RFC 5322 message whose subject carries the search token. */
export function message(from: string, to: string, subject: string, body = "Sent by the end-to-end suite.\n"): string {
  return [
    `From: <${from}>`,
    `To: <${to}>`,
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${subject}@e2e.client.test>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    body,
  ].join("\r\n");
}

/** What a plaintext client sees on a port: whether TCP connected, and every byte the server sent back. */
export async function plaintextProbe(host: string, port: number, waitMs = 5_000): Promise<{ connected: boolean; received: string }> {
  return new Promise((resolve) => {
    let received = "";
    let connected = false;
    const s = net.connect({ host, port });
    const timers: NodeJS.Timeout[] = [];
    const finish = () => {
      timers.forEach(clearTimeout);
      s.destroy();
      resolve({ connected, received });
    };
    s.setEncoding("latin1");
    s.on("data", (d: string) => (received += d));
    s.on("error", finish);
    s.on("close", finish);
    s.on("connect", () => {
      connected = true;
      // Wait for a greeting; then speak SMTP as if the port were plaintext, and see whether it answers.
      timers.push(setTimeout(() => s.write("EHLO e2e.client.test\r\n"), waitMs / 2), setTimeout(finish, waitMs));
    });
  });
}

export type PortState = "open" | "refused" | "filtered";

/** Plain TCP connect: "refused" (RST), "filtered" (no answer in time) or "open"; from `localAddress` if given. */
export function tcpState(host: string, port: number, timeoutMs = 5_000, localAddress?: string): Promise<PortState> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, localAddress });
    const t = setTimeout(() => {
      s.destroy();
      resolve("filtered");
    }, timeoutMs);
    s.on("connect", () => {
      clearTimeout(t);
      s.destroy();
      resolve("open");
    });
    s.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      if (e.code === "ECONNREFUSED") resolve("refused");
      else reject(e);
    });
  });
}

/**
 * TLS on a plain socket: at once (implicit TLS, 465) or after the server said yes to STARTTLS (SMTP,
 * ManageSieve). Its listeners go, and the TLS socket is returned once the handshake is done.
 */
export async function upgradeToTls(plain: net.Socket, options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  plain.removeAllListeners("data");
  plain.removeAllListeners("close");
  return new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ socket: plain, ...options }, () => resolve(s));
    s.once("error", reject);
  });
}
