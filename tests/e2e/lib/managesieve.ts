// A small ManageSieve client (RFC 5804): no maintained npm library speaks it, and the attacks need the raw
// protocol anyway (AUTHENTICATE before STARTTLS, a login that names another user).
import net from "node:net";
import tls from "node:tls";
import { Lab, LabUser } from "./lab";
import { labTls, upgradeToTls } from "./smtp";
import { Wakeup } from "./wait";

export const MANAGESIEVE_PORT = 4190;

export interface SieveResponse {
  /** OK, NO or BYE. */
  status: "OK" | "NO" | "BYE";
  /** The lines before the status line, with every literal's bytes inlined as one string. */
  data: string[];
  /** The whole status line, e.g. `NO (NONEXISTENT) "There is no script by that name"`. */
  line: string;
}

/** A quoted string argument; script names and SASL data hold no " or \ here. */
const quoted = (s: string): string => {
  if (/["\\\r\n]/.test(s)) throw new Error(`managesieve: cannot quote ${JSON.stringify(s)}`);
  return `"${s}"`;
};

export class ManageSieve {
  private buffer = Buffer.alloc(0);
  private readonly wake = new Wakeup();
  private closed = false;
  /** The capabilities of the last greeting (before STARTTLS, then after it): "SASL" → "PLAIN LOGIN" … */
  capabilities = new Map<string, string>();

  private constructor(private socket: net.Socket) {
    this.attach(socket);
  }

  static async open(lab: Lab): Promise<ManageSieve> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: lab.ip, port: MANAGESIEVE_PORT }, () => resolve(s));
      s.once("error", reject);
    });
    const c = new ManageSieve(socket);
    c.capabilities = capabilities(await c.read());
    return c;
  }

  private attach(socket: net.Socket): void {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake.notify();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake.notify();
    });
    socket.on("error", () => undefined);
  }

  /** Parses one response from the buffer, or undefined while it is incomplete. Literals: {n} or {n+}. */
  private parse(): SieveResponse | undefined {
    const data: string[] = [];
    let pos = 0;
    let current = "";
    for (;;) {
      const eol = this.buffer.indexOf("\r\n", pos);
      if (eol < 0) return undefined;
      const line = this.buffer.subarray(pos, eol).toString("utf8");
      pos = eol + 2;
      const literal = /\{(\d+)\+?\}$/.exec(line);
      if (literal) {
        const n = Number(literal[1]);
        if (this.buffer.length < pos + n) return undefined;
        current += line.slice(0, literal.index) + this.buffer.subarray(pos, pos + n).toString("utf8");
        pos += n;
        continue;
      }
      current += line;
      const status = /^(OK|NO|BYE)\b/.exec(current);
      if (status) {
        this.buffer = this.buffer.subarray(pos);
        return { status: status[1] as SieveResponse["status"], data, line: current };
      }
      data.push(current);
      current = "";
    }
  }

  async read(timeoutMs = 15_000): Promise<SieveResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.parse();
      if (r) return r;
      if (this.closed) throw new Error(`managesieve: connection closed before a complete response (got ${this.buffer.toString("utf8")})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`managesieve: no response within ${timeoutMs} ms (got ${this.buffer.toString("utf8")})`);
      await this.wake.next(left);
    }
  }

  async command(line: string): Promise<SieveResponse> {
    this.socket.write(`${line}\r\n`);
    return this.read();
  }

  /** STARTTLS, then the capabilities the server sends again over TLS (RFC 5804 §2.2). */
  async starttls(options: tls.ConnectionOptions): Promise<SieveResponse> {
    const r = await this.command("STARTTLS");
    if (r.status !== "OK") throw new Error(`STARTTLS refused: ${r.line}`);
    this.socket = await upgradeToTls(this.socket, options);
    this.buffer = Buffer.alloc(0);
    this.attach(this.socket);
    const greeting = await this.read();
    this.capabilities = capabilities(greeting);
    return greeting;
  }

  get tlsProtocol(): string | null {
    return this.socket instanceof tls.TLSSocket ? this.socket.getProtocol() : null;
  }

  /** AUTHENTICATE "PLAIN" with an initial response; `authzid` asks to act as another user. */
  authenticate(user: string, password: string, authzid = ""): Promise<SieveResponse> {
    const initial = Buffer.from(`${authzid}\0${user}\0${password}`).toString("base64");
    return this.command(`AUTHENTICATE "PLAIN" ${quoted(initial)}`);
  }

  putScript(name: string, script: string): Promise<SieveResponse> {
    const body = script.replace(/\r?\n/g, "\r\n");
    return this.command(`PUTSCRIPT ${quoted(name)} {${Buffer.byteLength(body)}+}\r\n${body}`);
  }

  setActive(name: string): Promise<SieveResponse> {
    return this.command(`SETACTIVE ${quoted(name)}`);
  }

  deleteScript(name: string): Promise<SieveResponse> {
    return this.command(`DELETESCRIPT ${quoted(name)}`);
  }

  getScript(name: string): Promise<SieveResponse> {
    return this.command(`GETSCRIPT ${quoted(name)}`);
  }

  /** The script names, the active one marked. */
  async listScripts(): Promise<{ name: string; active: boolean }[]> {
    const r = await this.command("LISTSCRIPTS");
    if (r.status !== "OK") throw new Error(`LISTSCRIPTS refused: ${r.line}`);
    return r.data.map((l) => {
      const m = /^"([^"]*)"( ACTIVE)?$/.exec(l);
      if (!m) throw new Error(`managesieve: unexpected LISTSCRIPTS line ${l}`);
      return { name: m[1], active: Boolean(m[2]) };
    });
  }

  close(): void {
    if (!this.closed) this.socket.write("LOGOUT\r\n");
    this.socket.end();
    this.socket.destroy();
  }
}

/** Capability lines `"NAME" "value"` (or `"NAME"`) → name → value. */
function capabilities(r: SieveResponse): Map<string, string> {
  return new Map(r.data.map((l) => {
    const m = /^"([^"]+)"(?: "([^"]*)")?$/.exec(l);
    return m ? [m[1].toUpperCase(), m[2] ?? ""] as [string, string] : [l, ""] as [string, string];
  }));
}

/** Connected, STARTTLS done (the lab's certificate checked), logged in as `user`. */
export async function managesieveSession(lab: Lab, user: LabUser): Promise<ManageSieve> {
  const c = await ManageSieve.open(lab);
  await c.starttls(labTls(lab));
  const auth = await c.authenticate(user.address, user.password);
  if (auth.status !== "OK") {
    c.close();
    throw new Error(`${user.address} could not log in over ManageSieve: ${auth.line}`);
  }
  return c;
}

/** Uploads `text` as `user`'s script `name` and makes it the active one; throws with the server's answer otherwise. */
export async function activateScript(lab: Lab, user: LabUser, name: string, text: string): Promise<void> {
  const c = await managesieveSession(lab, user);
  try {
    for (const [step, r] of [["PUTSCRIPT", await c.putScript(name, text)], ["SETACTIVE", await c.setActive(name)]] as const) {
      if (r.status !== "OK") throw new Error(`${step} ${name} for ${user.address}: ${r.line}`);
    }
  } finally {
    c.close();
  }
}

/** Deactivates and deletes `user`'s script `name` (cleanup: the answers are not checked). */
export async function removeScript(lab: Lab, user: LabUser, name: string): Promise<void> {
  const c = await managesieveSession(lab, user);
  try {
    await c.setActive("");
    await c.deleteScript(name);
  } finally {
    c.close();
  }
}
