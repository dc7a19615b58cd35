// A minimal SMTP client for probing a server from outside: it reads replies, speaks commands and upgrades to
// TLS, and never sends a message (DATA is not part of it), so a probe cannot deliver anything by mistake.
import * as net from "node:net";
import * as tls from "node:tls";

export interface Reply {
  code: number;
  /** Every line of the reply joined by newlines, codes included. */
  text: string;
}

/**
 * The most a probe holds of what a server sent and no one has read yet. A reply line is at most 512 octets
 * (RFC 5321 §4.5.3.1.5) and EHLO lists a few dozen: a server that sends more is not speaking SMTP, and one that
 * sends forever must not fill our memory.
 */
export const MAX_UNREAD_BYTES = 64 * 1024;

export interface TlsOptions {
  servername: string;
  /** PEM roots to trust; the system's when absent. */
  ca?: string;
}

export class SmtpProbe {
  private buffer = "";
  private lines: string[] = [];
  private waiting?: { resolve: (r: Reply) => void; reject: (e: Error) => void };
  private failure?: Error;

  private constructor(private socket: net.Socket, private readonly timeoutMs: number) {
    this.listen(socket);
  }

  /** Connects (implicit TLS when `implicitTls` is given) and reads the greeting. */
  static async open(host: string, port: number, timeoutMs: number, implicitTls?: TlsOptions): Promise<{ probe: SmtpProbe; greeting: Reply }> {
    const socket = implicitTls
      ? tls.connect({ host, port, servername: implicitTls.servername, ca: implicitTls.ca, rejectUnauthorized: false })
      : net.connect({ host, port });
    await connected(socket, implicitTls ? "secureConnect" : "connect", timeoutMs);
    const probe = new SmtpProbe(socket, timeoutMs);
    return { probe, greeting: await probe.reply() };
  }

  get tlsSocket(): tls.TLSSocket | undefined {
    return this.socket instanceof tls.TLSSocket ? this.socket : undefined;
  }

  async command(line: string): Promise<Reply> {
    if (/[\r\n]/.test(line)) throw new Error("an SMTP command is one line");
    if (/^data\b/i.test(line)) throw new Error("probes never send DATA");
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /** STARTTLS, then the TLS handshake on the same connection (not verified here: the caller inspects it). */
  async startTls(options: TlsOptions): Promise<Reply> {
    const r = await this.command("STARTTLS");
    if (r.code !== 220) return r;
    this.socket.removeAllListeners("data");
    const secure = tls.connect({ socket: this.socket, servername: options.servername, ca: options.ca, rejectUnauthorized: false });
    await connected(secure, "secureConnect", this.timeoutMs);
    this.socket = secure;
    this.listen(secure);
    return r;
  }

  close(): void {
    if (!this.socket.destroyed) {
      this.socket.end("QUIT\r\n");
      this.socket.destroy();
    }
  }

  private listen(socket: net.Socket): void {
    socket.setEncoding("utf8");
    const fail = (e: Error) => {
      this.failure ??= e;
      this.waiting?.reject(e);
      this.waiting = undefined;
    };
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf("\n")) >= 0) {
        this.lines.push(this.buffer.slice(0, nl).replace(/\r$/, ""));
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.deliver();
      const unread = this.buffer.length + this.lines.reduce((n, l) => n + l.length + 2, 0);
      if (unread > MAX_UNREAD_BYTES) {
        socket.destroy();
        this.buffer = "";
        this.lines = [];
        fail(new Error(`the server sent more than ${MAX_UNREAD_BYTES / 1024} KiB that is no complete SMTP reply`));
      }
    });
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("connection closed")));
  }

  /** Hands a complete reply (its last line has a space after the code) to the waiting reader. */
  private deliver(): void {
    const end = this.lines.findIndex((l) => /^\d{3}(?: |$)/.test(l));
    if (end < 0 || !this.waiting) return;
    const lines = this.lines.splice(0, end + 1);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting.resolve({ code: Number(lines[end].slice(0, 3)), text: lines.join("\n") });
  }

  private reply(): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`no reply within ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
      this.waiting = {
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      // A reply that arrived whole before the connection closed is still read.
      this.deliver();
      if (this.waiting && this.failure) this.waiting.reject(this.failure);
    });
  }
}

function connected(socket: net.Socket, event: "connect" | "secureConnect", timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once(event, () => { clearTimeout(timer); resolve(); });
    socket.once("error", (e) => { clearTimeout(timer); socket.destroy(); reject(e); });
  });
}

/** Whether a TCP port accepts connections: refused or silent within the timeout counts as closed. */
export function portOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => { clearTimeout(timer); socket.destroy(); resolve(open); };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
