// A minimal POP3 client over implicit TLS (995): enough to log in and read messages.
import tls from "node:tls";
import { Wakeup } from "./wait";

export class Pop3 {
  private buffer = "";
  private readonly wake = new Wakeup();
  private closed = false;

  private constructor(private socket: tls.TLSSocket) {
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      this.buffer += d;
      this.wake.notify();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake.notify();
    });
    socket.on("error", () => undefined);
  }

  static async open(host: string, port: number, options: tls.ConnectionOptions): Promise<{ pop: Pop3; greeting: string }> {
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host, port, ...options }, () => resolve(s));
      s.once("error", reject);
    });
    const pop = new Pop3(socket);
    return { pop, greeting: await pop.until("\r\n") };
  }

  /** Reads up to and including `terminator`. */
  private async until(terminator: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buffer.indexOf(terminator);
      if (i >= 0) {
        const out = this.buffer.slice(0, i + terminator.length);
        this.buffer = this.buffer.slice(i + terminator.length);
        return out;
      }
      if (this.closed) throw new Error(`POP3 connection closed (got: ${this.buffer})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no POP3 reply within ${timeoutMs} ms (got: ${this.buffer})`);
      await this.wake.next(left);
    }
  }

  /** A single-line command; returns the status line (starting with +OK or -ERR). */
  async command(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return (await this.until("\r\n")).trimEnd();
  }

  /** A multi-line command (RETR, LIST, TOP): the body without the terminating dot, un-stuffed. */
  async multi(line: string): Promise<{ status: string; body: string }> {
    const status = await this.command(line);
    if (!status.startsWith("+OK")) return { status, body: "" };
    // The terminator may follow the status line directly when the body is empty.
    this.buffer = `\r\n${this.buffer}`;
    const raw = await this.until("\r\n.\r\n");
    const body = raw.slice(2, -5).replace(/^\.\./gm, ".");
    return { status, body: body.length > 0 ? `${body}\r\n` : "" };
  }

  async login(user: string, password: string): Promise<string> {
    const u = await this.command(`USER ${user}`);
    if (!u.startsWith("+OK")) return u;
    return this.command(`PASS ${password}`);
  }

  /** The message count from STAT. */
  async count(): Promise<number> {
    const s = await this.command("STAT");
    const m = /^\+OK (\d+) /.exec(s);
    if (!m) throw new Error(`unexpected STAT reply: ${s}`);
    return Number(m[1]);
  }

  async quit(): Promise<void> {
    if (!this.closed) await this.command("QUIT").catch(() => "");
    this.socket.destroy();
  }
}
