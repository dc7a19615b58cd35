// Asks DNS servers for TLSA records: over UDP, again over TCP when the answer comes back truncated (RFC 7766
// §5). The servers are given as Node's resolvers list them ("192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:53").
import { randomInt } from "node:crypto";
import * as dgram from "node:dgram";
import * as net from "node:net";
import * as packet from "dns-packet";
import { readTlsaAnswer, TlsaAnswer, tlsaQuestion } from "./tlsa";

export function parseServer(server: string): { host: string; port: number } {
  const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(server);
  if (bracketed) return { host: bracketed[1], port: Number(bracketed[2] ?? 53) };
  if (net.isIPv6(server)) return { host: server, port: 53 };
  const [host, port] = server.split(":");
  return { host, port: Number(port ?? 53) };
}

/** The first server that answers wins, as with Node's resolver; each is given `timeoutMs` per transport. */
export async function queryTlsa(servers: string[], name: string, timeoutMs: number): Promise<TlsaAnswer> {
  const failures: string[] = [];
  for (const server of servers) {
    const { host, port } = parseServer(server);
    try {
      const id = randomInt(0x10000);
      const question = tlsaQuestion(name, id);
      const udp = readTlsaAnswer(await overUdp(host, port, packet.encode(question), timeoutMs), name, id);
      return udp.truncated ? readTlsaAnswer(await overTcp(host, port, packet.streamEncode(question), timeoutMs), name, id) : udp;
    } catch (e) {
      failures.push(`${server}: ${(e as Error).message}`);
    }
  }
  throw new Error(failures.length > 0 ? failures.join("; ") : "no DNS server to ask");
}

function overUdp(host: string, port: number, question: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
    const done = settleOnce(resolve, reject, () => socket.close(), timeoutMs, "UDP");
    // Only a message from the server asked, and only once: the caller checks that it answers our id.
    socket.on("message", (m, from) => { if (from.address === host && from.port === port) done(undefined, m); });
    socket.on("error", (e) => done(e));
    socket.send(question, port, host);
  });
}

function overTcp(host: string, port: number, question: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const done = settleOnce(resolve, reject, () => socket.destroy(), timeoutMs, "TCP");
    // `question` is length-prefixed (streamEncode); so is the answer (RFC 1035 §4.2.2).
    socket.on("connect", () => socket.write(question));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) done(undefined, received.subarray(2, 2 + received.readUInt16BE(0)));
    });
    socket.on("error", (e) => done(e));
    socket.on("close", () => done(new Error("connection closed before the answer")));
  });
}

/** The first of answer, error or timeout settles the promise and closes the socket; later events are ignored. */
function settleOnce(resolve: (answer: Buffer) => void, reject: (e: Error) => void, close: () => void, timeoutMs: number, transport: string) {
  let finished = false;
  const done = (e: Error | undefined, answer?: Buffer) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    close();
    if (e) reject(e);
    else resolve(answer as Buffer);
  };
  const timer = setTimeout(() => done(new Error(`no answer over ${transport} within ${timeoutMs / 1000} s`)), timeoutMs);
  return done;
}
