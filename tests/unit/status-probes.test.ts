// The status probes' reads are bounded: a server that sends forever (no line end, or a reply that never ends)
// is cut off with an error naming it, instead of filling our memory until the timeout.
import * as net from "node:net";
import { sieveStartTls } from "../../components/status/sieve-probe";
import { MAX_UNREAD_BYTES, SmtpProbe } from "../../components/status/smtp-probe";

/** A server on loopback that writes `chunk` as fast as the client reads, until the client goes; counts what it wrote. */
async function flood(greeting: string, chunk: string): Promise<{ port: number; sent: () => number; close: () => Promise<void> }> {
  let sent = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on("error", () => undefined);
    s.write(greeting);
    const pump = () => {
      while (!s.destroyed && s.write(chunk)) sent += chunk.length;
      if (!s.destroyed) s.once("drain", pump);
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    sent: () => sent,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

test.each([
  { what: "bytes without a line end", greeting: "", chunk: "x".repeat(4096) },
  { what: "a reply whose continuation lines never end", greeting: "", chunk: "220-still greeting you\r\n".repeat(100) },
])("SMTP: $what are cut off after MAX_UNREAD_BYTES", async ({ greeting, chunk }) => {
  const server = await flood(greeting, chunk);
  try {
    // Cut off by the bound, not by the timeout (whose message would be "no reply within 60 s").
    await expect(SmtpProbe.open("127.0.0.1", server.port, 60_000)).rejects.toThrow(`the server sent more than ${MAX_UNREAD_BYTES / 1024} KiB that is no complete SMTP reply`);
    expect(server.sent()).toBeGreaterThan(MAX_UNREAD_BYTES);
  } finally {
    await server.close();
  }
});

test("control: a normal multi-line reply is read whole", async () => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => { sockets.push(s); s.write("220-mail.example.com hello\r\n220-more\r\n220 ready\r\n"); });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const { probe, greeting } = await SmtpProbe.open("127.0.0.1", (server.address() as net.AddressInfo).port, 5_000);
    expect(greeting).toEqual({ code: 220, text: "220-mail.example.com hello\n220-more\n220 ready" });
    probe.close();
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});

test("ManageSieve: a greeting that never ends is cut off", async () => {
  const server = await flood("", "x".repeat(4096));
  try {
    await expect(sieveStartTls("127.0.0.1", server.port, { servername: "mail.example.com" }, 60_000))
      .rejects.toThrow(`ManageSieve sent more than ${MAX_UNREAD_BYTES / 1024} KiB without its OK`);
  } finally {
    await server.close();
  }
});
