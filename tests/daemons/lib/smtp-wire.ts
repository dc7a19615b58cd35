// A deliberately raw SMTP client: it writes exactly the bytes a test gives it (bare LFs, pipelined
// commands, BDAT chunks), so that it can behave like an attacker, and reads replies as the server sends them.
import { createConnection, Socket } from "node:net";
import { connect as tlsConnect, TLSSocket } from "node:tls";

export interface Reply { code: number; text: string }

export class Wire {
  private buffer = "";
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(private stream: Socket | TLSSocket) {
    this.attach(stream);
  }

  private attach(stream: Socket | TLSSocket): void {
    this.stream = stream;
    stream.on("data", (d: Buffer) => { this.buffer += d.toString("latin1"); this.wake(); });
    stream.on("close", () => { this.closed = true; this.wake(); });
    stream.on("error", () => { this.closed = true; this.wake(); });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  /** Connects to a Unix socket (the forwarder), optionally with TLS at once (465, 993, 995). */
  static async open(path: string, tls: TlsOptions | false = false): Promise<Wire> {
    const raw = await new Promise<Socket>((res, rej) => {
      const s = createConnection({ path }, () => res(s));
      s.once("error", rej);
    });
    if (!tls) return new Wire(raw);
    return new Wire(await handshake(raw, tls));
  }

  /** The next complete reply (all lines of a multi-line one); null if the server closed first. */
  async reply(timeoutMs = 15_000): Promise<Reply | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^((?:\d{3}-[^\n]*\n)*)(\d{3})(?: [^\n]*)?\r?\n/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[0].length);
        return { code: Number(m[2]), text: m[0].replace(/\r/g, "").trimEnd() };
      }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; buffer: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((r) => { const t = setTimeout(r, left); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }

  /** A raw line from a non-SMTP server (IMAP/POP3 greeting). */
  async line(timeoutMs = 15_000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buffer.indexOf("\n");
      if (i >= 0) { const l = this.buffer.slice(0, i + 1); this.buffer = this.buffer.slice(i + 1); return l.trimEnd(); }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line within ${timeoutMs} ms`);
      await new Promise<void>((r) => { const t = setTimeout(r, left); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }

  write(bytes: string): void {
    this.stream.write(Buffer.from(bytes, "latin1"));
  }

  /** Sends one command line (CRLF added) and returns its reply. */
  async cmd(line: string): Promise<Reply | null> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** STARTTLS, then the TLS handshake on the same connection; the caller sends EHLO again. */
  async starttls(tls: TlsOptions = {}): Promise<Reply | null> {
    const r = await this.cmd("STARTTLS");
    if (r?.code !== 220) return r;
    this.stream.removeAllListeners("data");
    this.stream.removeAllListeners("close");
    this.stream.removeAllListeners("error");
    this.attach(await handshake(this.stream as Socket, tls));
    return r;
  }

  get tls(): TLSSocket | undefined {
    return this.stream instanceof TLSSocket ? this.stream : undefined;
  }

  close(): void {
    this.stream.destroy();
  }
}

export interface TlsOptions { ciphers?: string; minVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3"; maxVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3" }

/** A TLS handshake over an open socket; the throwaway certificate is not verified. */
export function handshake(socket: Socket, o: TlsOptions): Promise<TLSSocket> {
  return new Promise((res, rej) => {
    const t = tlsConnect({ socket, servername: "mail.example.com", rejectUnauthorized: false, ...o }, () => res(t));
    t.once("error", rej);
  });
}

/** AUTH PLAIN's initial response. */
export const authPlain = (user: string, password: string) =>
  Buffer.from(`\0${user}\0${password}`, "utf8").toString("base64");
