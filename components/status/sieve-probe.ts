// ManageSieve's STARTTLS (RFC 5804 §2.2) for the TLS check of port 4190: the greeting (capabilities, then an
// OK line), STARTTLS, its OK, then the handshake on the same connection. Nothing else is ever sent.
import * as net from "node:net";
import * as tls from "node:tls";
import { MAX_UNREAD_BYTES, type TlsOptions } from "./smtp-probe";

/** ManageSieve (core/ports.ts MAIL_PORTS): STARTTLS before AUTH, as 25 and 587. */
export const MANAGESIEVE_PORT = 4190;

/** A TLS session on a ManageSieve port (not verified here: the caller inspects it). */
export function sieveStartTls(host: string, port: number, options: TlsOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (e: Error) => { clearTimeout(timer); socket.destroy(); reject(e); };
    const timer = setTimeout(() => fail(new Error(`no STARTTLS within ${timeoutMs / 1000} s`)), timeoutMs);
    let buffer = "";
    let asked = false;
    socket.setEncoding("latin1");
    socket.on("error", fail);
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      // The greeting is a few capability lines: a server that sends more must not fill our memory.
      if (buffer.length > MAX_UNREAD_BYTES) return fail(new Error(`ManageSieve sent more than ${MAX_UNREAD_BYTES / 1024} KiB without its OK`));
      let end: number;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        // Capability lines are quoted strings; a response line starts with OK, NO or BYE.
        if (/^(NO|BYE)\b/i.test(line)) return fail(new Error(`ManageSieve said ${line}`));
        if (!/^OK\b/i.test(line)) continue;
        if (!asked) {
          asked = true;
          socket.write("STARTTLS\r\n");
          continue;
        }
        socket.removeAllListeners("data");
        socket.removeListener("error", fail);
        const secure = tls.connect({ socket, servername: options.servername, ca: options.ca, rejectUnauthorized: false });
        secure.once("secureConnect", () => { clearTimeout(timer); resolve(secure); });
        secure.once("error", fail);
        return;
      }
    });
  });
}
