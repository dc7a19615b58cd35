// The rendered configuration run by the real Postfix, Dovecot and OpenDKIM (tests/daemons/lib/live-server.ts)
// and attacked from an address outside mynetworks: what issue 10 found open must stay closed, and each
// refusal has a control that the same test would see pass, so a test that cannot fail does not hide here.
// Needs root and the Debian packages: postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd
// opendkim openssl iproute2 util-linux passwd.
import * as https from "node:https";
import { dkimVerify } from "mailauth";
import { parseConfig } from "../../components/core/config";
import { dkimPublicKeyBase64, dkimRecordContent } from "../../components/core/dkim";
import type { RenderedFile } from "../../components/core/files";
import { renderFiles } from "../../components/core/render";
import { FIXTURE_PASSWORDS, fixtureDkimKeys, fixtureRaw } from "../fixtures/config";
import { CLIENT_IP, LiveServer, Port, startLiveServer } from "./lib/live-server";
import { authPlain, Reply, TlsOptions, Wire } from "./lib/smtp-wire";

const HOSTNAME = "mail.example.com";
const OUTSIDER = "eve@elsewhere.example.net";
/** The EHLO name our "outside" and "user" clients give: it must not leak into mail. */
const CLIENT_HELO = "laptop.home.elsewhere.example.net";
/** Mozilla intermediate, TLS 1.2 part: every other TLS 1.2 cipher is weak here. */
const INTERMEDIATE = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", "DHE-RSA-AES128-GCM-SHA256",
  "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305"];

let server: LiveServer;
let files: RenderedFile[];
let seq = 0;
/** A token unique to one message, to find (and count) its deliveries. */
const marker = (what: string) => `${what}-${process.pid}-${++seq}`;

beforeAll(async () => {
  files = await renderFiles({ config: parseConfig(fixtureRaw()), dkimPrivateKeys: fixtureDkimKeys() });
  server = await startLiveServer(files);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

const opened: Wire[] = [];
afterEach(() => { opened.splice(0).forEach((w) => w.close()); });

/** Connected, greeted and EHLO'd; on 465 with TLS at once; `login` adds STARTTLS (587) and AUTH PLAIN. */
async function smtp(port: Port, login?: string): Promise<{ w: Wire; ehlo: Reply }> {
  const w = await Wire.open(server.socket(port), port === 465 ? {} : false);
  opened.push(w);
  // No banner at all: smtpd refused its configuration (e.g. "permit" before reject_unauth_destination is fatal).
  expect((await w.reply(5_000))?.code).toBe(220);
  let ehlo = await w.cmd(`EHLO ${CLIENT_HELO}`);
  if (login !== undefined) {
    if (port === 587) {
      expect((await w.starttls())?.code).toBe(220);
      ehlo = await w.cmd(`EHLO ${CLIENT_HELO}`);
    }
    const auth = await w.cmd(`AUTH PLAIN ${authPlain(login, FIXTURE_PASSWORDS[login])}`);
    expect(auth?.code).toBe(235);
  }
  if (!ehlo) throw new Error("no EHLO reply");
  return { w, ehlo };
}

/** MAIL and RCPT; the first refusal (Postfix reports sender restrictions at RCPT: smtpd_delay_reject). */
async function envelope(w: Wire, from: string, to: string): Promise<Reply | null> {
  const mail = await w.cmd(`MAIL FROM:<${from}>`);
  if (mail?.code !== 250) return mail;
  return w.cmd(`RCPT TO:<${to}>`);
}

/** A whole transaction; the reply that ended it (end of DATA, or the refusal before). */
async function send(w: Wire, from: string, to: string, message: string): Promise<Reply | null> {
  const r = await envelope(w, from, to);
  if (r?.code !== 250) return r;
  if ((await w.cmd("DATA"))?.code !== 354) throw new Error("DATA refused");
  return w.cmd(`${message.replace(/\r?\n/g, "\r\n")}\r\n.`);
}

const message = (from: string, subject: string, extra = "") =>
  `From: ${from}\nTo: someone@example.net\nSubject: ${subject}\nMessage-ID: <${subject}@test>\n${extra}\nHello.\n`;

interface QueueEntry { queue_name: string; queue_id: string; sender: string; recipients: { address: string }[] }
function queue(): QueueEntry[] {
  const r = server.exec(["postqueue", "-j"]);
  return r.out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as QueueEntry);
}

/** Waits until no message for a hosted mailbox is left in the queue, then the delivered files naming `token`. */
async function delivered(token: string): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const pending = queue().filter((e) => e.recipients.some((r) => /@example\.(com|org)$/i.test(r.address)));
    if (pending.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const found = server.exec(["grep", "-rlF", "--", token, "/srv/mail/vmail"]);
  return found.out.split("\n").filter((l) => l.includes("/new/") || l.includes("/cur/"));
}

const hasKeyword = (ehlo: Reply, kw: string) => ehlo.text.split("\n").some((l) => l.slice(4).split(" ")[0].toUpperCase() === kw);

describe("port 25 from outside, without login", () => {
  test("a hosted envelope sender (user, unknown address, hostname) is refused 5.7.1 pointing to 587/465; a foreign one is not", async () => {
    const { w } = await smtp(25);
    for (const from of ["alice@example.com", "ceo@example.com", "Bob@Example.ORG", `root@${HOSTNAME}`]) {
      const r = await envelope(w, from, "alice@example.com");
      expect({ from, code: r?.code }).toEqual({ from, code: 554 });
      expect(r?.text).toMatch(/^554 5\.7\.1 .*Sender address rejected: .*587 or 465$/);
      await w.cmd("RSET");
    }
    expect((await envelope(w, OUTSIDER, "alice@example.com"))?.text).toBe("250 2.1.5 Ok");
  });

  test("no open relay: a foreign recipient is refused; a hosted one and an alias are accepted", async () => {
    const { w } = await smtp(25);
    const r = await envelope(w, OUTSIDER, "victim@elsewhere.example.org");
    expect(r?.text).toBe("554 5.7.1 <victim@elsewhere.example.org>: Relay access denied");
    for (const to of ["alice@example.com", "bob@example.org", "info@example.com", "alice+tag@example.com"]) {
      expect({ to, r: (await w.cmd(`RCPT TO:<${to}>`))?.text }).toEqual({ to, r: "250 2.1.5 Ok" });
    }
  });

  test("system accounts on the hostname receive nothing, and answer exactly as a made-up name; postmaster and abuse do", async () => {
    const { w } = await smtp(25);
    expect((await w.cmd(`MAIL FROM:<${OUTSIDER}>`))?.code).toBe(250);
    const refusal = async (name: string) =>
      (await w.cmd(`RCPT TO:<${name}@${HOSTNAME}>`))?.text.replace(`<${name}@`, "<NAME@");
    const madeUp = await refusal("nosuchname7");
    expect(madeUp).toBe(`550 5.1.1 <NAME@${HOSTNAME}>: Recipient address rejected: User unknown in local recipient table`);
    for (const name of ["daemon", "postfix", "www-data", "nobody", "vmail", "opendkim", "dovecot"]) {
      expect({ name, r: await refusal(name) }).toEqual({ name, r: madeUp });
    }
    for (const name of ["postmaster", "abuse", "root"]) {
      expect({ name, r: (await w.cmd(`RCPT TO:<${name}@${HOSTNAME}>`))?.text }).toEqual({ name, r: "250 2.1.5 Ok" });
    }
  });

  test("a hosted From: header is refused at the end of DATA (OpenDKIM's final.lua); a foreign From: is queued", async () => {
    const { w } = await smtp(25);
    const forged = await send(w, OUTSIDER, "bob@example.org", message("Alice <alice@example.com>", marker("forged")));
    expect(forged?.text).toBe("550 5.7.1 Unauthenticated mail from example.com is refused here: log in and send on port 587 or 465");
    const token = marker("genuine");
    const genuine = await send(w, OUTSIDER, "bob@example.org", message(`Eve <${OUTSIDER}>`, token));
    expect(genuine?.text).toMatch(/^250 2\.0\.0 Ok: queued as \w+$/);
    expect(await delivered(token)).toHaveLength(1);
  });

  test("EHLO offers neither AUTH nor DSN, also after STARTTLS; submission offers both once TLS is up (control)", async () => {
    const { w, ehlo } = await smtp(25);
    expect(hasKeyword(ehlo, "STARTTLS")).toBe(true);
    for (const kw of ["AUTH", "DSN", "VRFY"]) expect({ kw, offered: hasKeyword(ehlo, kw) }).toEqual({ kw, offered: false });
    await w.starttls();
    const tlsEhlo = await w.cmd(`EHLO ${CLIENT_HELO}`);
    if (!tlsEhlo) throw new Error("no EHLO reply after STARTTLS");
    expect([hasKeyword(tlsEhlo, "AUTH"), hasKeyword(tlsEhlo, "DSN")]).toEqual([false, false]);
    // Not even when asked: AUTH is not there to try passwords against on port 25.
    expect((await w.cmd("AUTH PLAIN AGFsaWNlAHg="))?.code).toBeGreaterThanOrEqual(500);

    const sub = await smtp(587);
    expect(hasKeyword(sub.ehlo, "AUTH")).toBe(false); // smtpd_tls_auth_only: no password before TLS
    await sub.w.starttls();
    const subTls = await sub.w.cmd(`EHLO ${CLIENT_HELO}`);
    if (!subTls) throw new Error("no EHLO reply after STARTTLS");
    expect(subTls.text).toMatch(/^250-AUTH PLAIN LOGIN$/m);
    expect(hasKeyword(subTls, "DSN")).toBe(true);
  });
});

describe("SMTP smuggling", () => {
  // The smuggled message would pass every other check (foreign From:, hosted recipient): only the
  // end-of-DATA rule stops it.
  const smuggled = (token: string) =>
    `From: ${OUTSIDER}\r\nSubject: outer ${token}\r\n\r\nouter\n.\nMAIL FROM:<${OUTSIDER}>\nRCPT TO:<bob@example.org>\nDATA\n` +
    `From: ${OUTSIDER}\nSubject: smuggled ${token}\n\nsmuggled\n.\n`;

  /** Every reply to the end of the session, to count the messages the server says it queued. */
  async function rest(w: Wire): Promise<string[]> {
    w.write("QUIT\r\n");
    const replies: string[] = [];
    for (let r = await w.reply(); r; r = await w.reply()) replies.push(r.text);
    return replies;
  }

  test("DATA: <LF>.<LF> does not end the message: one message queued and delivered, the smuggled part stays its text", async () => {
    const token = marker("smuggle-data");
    const { w } = await smtp(25);
    expect((await envelope(w, OUTSIDER, "alice@example.com"))?.code).toBe(250);
    expect((await w.cmd("DATA"))?.code).toBe(354);
    w.write(`${smuggled(token)}\r\n.\r\n`);
    const replies = await rest(w);
    expect(replies.filter((r) => /queued as/.test(r))).toHaveLength(1);
    const files = await delivered(token);
    expect(files).toHaveLength(1);
    expect(files[0]).toContain("/example.com/alice/");
    expect(server.exec(["cat", files[0]]).out).toContain(`Subject: smuggled ${token}`);
  });

  test("BDAT: the same bytes in a chunk give one message too", async () => {
    const token = marker("smuggle-bdat");
    const { w, ehlo } = await smtp(25);
    expect(hasKeyword(ehlo, "CHUNKING")).toBe(true);
    expect((await envelope(w, OUTSIDER, "alice@example.com"))?.code).toBe(250);
    const chunk = `${smuggled(token)}\r\n`;
    w.write(`BDAT ${Buffer.byteLength(chunk, "latin1")} LAST\r\n${chunk}`);
    const replies = await rest(w);
    expect(replies.filter((r) => /queued as/.test(r))).toHaveLength(1);
    expect(await delivered(token)).toHaveLength(1);
  });

  test("control: a second, proper transaction on the same connection queues a second message", async () => {
    const token = marker("two-transactions");
    const { w } = await smtp(25);
    for (let i = 0; i < 2; i++) {
      expect((await send(w, OUTSIDER, "alice@example.com", message(OUTSIDER, `${token} ${i}`)))?.code).toBe(250);
    }
    expect(await delivered(token)).toHaveLength(2);
  });
});

describe("443 (nginx): each document on its own names, nothing else", () => {
  interface Answer { status: number; type: string | undefined; body: string }
  /** One HTTPS request through the forwarder as `host` (SNI and Host:); the certificate is the setup's self-signed one. */
  function web(host: string, path: string, method = "GET", body?: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = https.request({ socketPath: server.socket(443), servername: host, headers: { host }, path, method, rejectUnauthorized: false, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (b: Buffer) => chunks.push(b));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], body: Buffer.concat(chunks).toString() }));
        });
      req.on("error", reject);
      req.end(body);
    });
  }
  const outlook = '<?xml version="1.0"?><Autodiscover><Request><EMailAddress>eve@example.org</EMailAddress></Request></Autodiscover>';

  test.each([
    ["the MTA-STS policy", "mta-sts.example.org", "/.well-known/mta-sts.txt", "GET", "text/plain", /^version: STSv1\nmode: testing\nmx: mail\.example\.com\n/],
    ["Thunderbird's autoconfig", "autoconfig.example.org", "/mail/config-v1.1.xml", "GET", "application/xml", /<clientConfig version="1\.1">/],
    ["Outlook's autodiscover (POST)", "autodiscover.example.org", "/autodiscover/autodiscover.xml", "POST", "application/xml", /<AccountType>email<\/AccountType>/],
    ["Outlook's autodiscover, spelt with capitals", "autodiscover.example.com", "/Autodiscover/Autodiscover.xml", "POST", "application/xml", /<Type>IMAP<\/Type>/],
  ])("served: %s", async (_label, host, path, method, type, content) => {
    const r = await web(host, path, method, method === "POST" ? outlook : undefined);
    expect([r.status, r.type]).toEqual([200, type]);
    expect(r.body).toMatch(content);
    expect(r.body).not.toContain("eve@");
  });

  test.each([
    ["a neighbour of the autodiscover document", "autodiscover.example.org", "/autodiscover/autodiscover.xml.bak", "POST"],
    ["a prefix of the autodiscover document", "autodiscover.example.org", "/autodiscover/autodiscover.xm", "POST"],
    ["the autodiscover document on the autoconfig host", "autoconfig.example.org", "/autodiscover/autodiscover.xml", "POST"],
    ["the autoconfig document on the autodiscover host", "autodiscover.example.org", "/mail/config-v1.1.xml", "GET"],
    ["the policy on the autodiscover host", "autodiscover.example.org", "/.well-known/mta-sts.txt", "GET"],
    ["the autodiscover document on the mail hostname", "mail.example.com", "/autodiscover/autodiscover.xml", "POST"],
    ["the autodiscover document for a domain we do not host", "autodiscover.example.net", "/autodiscover/autodiscover.xml", "POST"],
  ])("not served: %s", async (_label, host, path, method) => {
    const r = await web(host, path, method, method === "POST" ? outlook : undefined);
    expect(r.status).toBe(404);
    expect(r.body).not.toMatch(/STSv1|clientConfig|Autodiscover/);
  });
});

describe("listeners and TLS", () => {
  test("exactly the expected ports listen: 25, 443, 465, 587, 993, 995, 4190; the milters, rspamd's controller and the Sieve lane on loopback only", () => {
    const listening = server.exec(["ss", "-Hltn"]).out.split("\n").filter(Boolean).map((l) => l.split(/\s+/)[3]).sort();
    expect(listening).toEqual(["0.0.0.0:25", "0.0.0.0:443", "0.0.0.0:465", "0.0.0.0:587", "0.0.0.0:993", "0.0.0.0:995", "0.0.0.0:4190", "127.0.0.1:8891",
      "127.0.0.1:11332", "127.0.0.1:11334", "127.0.0.1:10588"].sort());
  });

  test("143 and 110 refuse the connection; 993 and 995 greet over TLS 1.2+", async () => {
    for (const port of [143, 110] as const) {
      const w = await Wire.open(server.socket(port));
      opened.push(w);
      expect({ port, greeting: await w.line(5_000) }).toEqual({ port, greeting: null });
    }
    for (const [port, greeting] of [[993, /^\* OK /], [995, /^\+OK /]] as const) {
      const w = await Wire.open(server.socket(port), {});
      opened.push(w);
      expect(await w.line()).toMatch(greeting);
      expect(["TLSv1.2", "TLSv1.3"]).toContain(w.tls?.getProtocol());
    }
  });

  /** The TLS handshake on `port` with the client's options: the negotiated cipher, or the error. */
  async function tryTls(port: Port, o: TlsOptions): Promise<string> {
    try {
      const implicit = port !== 25 && port !== 587;
      const w = await Wire.open(server.socket(port), implicit ? o : false);
      opened.push(w);
      if (!implicit) {
        await w.reply();
        await w.cmd(`EHLO ${CLIENT_HELO}`);
        await w.starttls(o);
      }
      return w.tls?.getCipher().name ?? "no TLS";
    } catch (e) {
      return `refused: ${(e as Error).message}`;
    }
  }

  test("no weak cipher and no TLS below 1.2 on any TLS port; the intermediate ciphers work (control)", async () => {
    const weak = `ALL:@SECLEVEL=0:${INTERMEDIATE.map((c) => `!${c}`).join(":")}`;
    for (const port of [25, 465, 587, 993, 995] as const) {
      expect({ port, r: await tryTls(port, { maxVersion: "TLSv1.2", ciphers: weak }) }).toEqual({ port, r: expect.stringMatching(/^refused/) });
      expect({ port, r: await tryTls(port, { minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "ALL:@SECLEVEL=0" }) })
        .toEqual({ port, r: expect.stringMatching(/^refused/) });
      const ok = await tryTls(port, { maxVersion: "TLSv1.2" });
      expect({ port, ok: INTERMEDIATE.includes(ok) }).toEqual({ port, ok: true });
    }
  });
});

describe("submission (587 STARTTLS, 465) with login", () => {
  test("the empty envelope sender is refused; another user's address 553; one's own address accepted", async () => {
    const { w } = await smtp(587, "alice@example.com");
    const empty = await envelope(w, "", "bob@example.org");
    expect(empty?.text).toMatch(/^554 5\.7\.1 <>: Sender address rejected: The empty envelope sender is not accepted on submission/);
    await w.cmd("RSET");
    const other = await envelope(w, "bob@example.org", "bob@example.org");
    expect(other?.text).toBe("553 5.7.1 <bob@example.org>: Sender address rejected: not owned by user alice@example.com");
    await w.cmd("RSET");
    expect((await envelope(w, "alice@example.com", "bob@example.org"))?.text).toBe("250 2.1.5 Ok");
  });

  test("465 too: another user's envelope sender is refused, one's own accepted", async () => {
    const { w } = await smtp(465, "bob@example.org");
    expect((await envelope(w, "alice@example.com", "alice@example.com"))?.code).toBe(553);
    await w.cmd("RSET");
    expect((await envelope(w, "bob@example.org", "alice@example.com"))?.code).toBe(250);
  });

  test("a From: header of another user (other domain too) is refused at the end of DATA; one's own is queued", async () => {
    const { w } = await smtp(587, "carol@example.com");
    for (const from of ["Bob <bob@example.org>", "alice@example.com"]) {
      const r = await send(w, "carol@example.com", "someone@external.example.net", message(from, marker("header-forgery")));
      expect({ from, r: r?.text }).toEqual({ from, r: "550 5.7.1 The From: header must be an address of your login carol@example.com" });
    }
    const ok = await send(w, "carol@example.com", "someone@external.example.net", message("Carol <carol@example.com>", marker("own")));
    expect(ok?.text).toMatch(/^250 2\.0\.0 Ok: queued as \w+$/);
  });

  test("mail leaving for the relay carries no client IP, EHLO name or client software, and is signed d= the sender's domain", async () => {
    const token = marker("outbound");
    const { w } = await smtp(587, "bob@example.org");
    const r = await send(w, "bob@example.org", "someone@external.example.net",
      message("Bob <bob@example.org>", token, "X-Mailer: Evolution 3.46\nUser-Agent: Thunderbird 115\nX-Originating-IP: [198.51.100.7]\n"));
    const id = /queued as (\w+)/.exec(r?.text ?? "")?.[1];
    expect(id).toBeDefined();
    // It waits for the relay, which this namespace cannot reach: read it from the queue.
    const headers = server.exec(["postcat", "-h", "-q", id ?? ""]);
    expect(headers.rc).toBe(0);
    expect(headers.out).toContain(`Subject: ${token}`);
    expect(headers.out).not.toContain(CLIENT_IP);
    expect(headers.out).not.toContain(CLIENT_HELO);
    expect(headers.out).not.toMatch(/^(Received|X-Mailer|User-Agent|X-Originating-IP):/im);
    expect(headers.out).toMatch(/^DKIM-Signature: .*\bd=example\.org;/ms);
  });

  test("the signature of a delivered message verifies with the published key (independent verifier)", async () => {
    const token = marker("verify");
    const { w } = await smtp(587, "alice@example.com");
    expect((await send(w, "alice@example.com", "bob@example.org", message("Alice <alice@example.com>", token)))?.code).toBe(250);
    const found = await delivered(token);
    expect(found).toHaveLength(1);
    const raw = server.exec(["cat", found[0]]).out;
    expect(raw).not.toContain(CLIENT_IP);
    const keys = fixtureDkimKeys();
    const result = await dkimVerify(Buffer.from(raw.replace(/\r?\n/g, "\r\n")), {
      resolver: async (name: string, rrtype: string) => {
        const m = /^s1\._domainkey\.(.+)$/.exec(name);
        if (rrtype !== "TXT" || !m || !keys[m[1]]) throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
        return [[dkimRecordContent(dkimPublicKeyBase64(keys[m[1]]))]];
      },
    });
    expect(result.results.map((s) => [s.signingDomain, s.status.result])).toEqual([["example.com", "pass"]]);
  });

  // Last in the file: it uses up bob's hourly limit (20 recipients, his own sendLimitPerHour).
  test("once the hourly limit is used up, mail to one's own mailbox is still accepted and delivered (the status round trip); any other recipient 450", async () => {
    const { w } = await smtp(587, "bob@example.org");
    expect((await w.cmd("MAIL FROM:<bob@example.org>"))?.code).toBe(250);
    const replies: string[] = [];
    for (let i = 0; i < 25 && !replies.at(-1)?.startsWith("450"); i++) replies.push((await w.cmd("RCPT TO:<alice@example.com>"))?.text ?? "");
    expect(replies.at(-1)).toMatch(/^450 4\.7\.1 .*Sending limit of your login reached/);
    expect((await w.cmd("RCPT TO:<bob@example.org>"))?.code).toBe(250);
    expect((await w.cmd("RCPT TO:<bob+status@example.org>"))?.code).toBe(250);
    // Control, in the same state: another user's mailbox is still held back.
    expect((await w.cmd("RCPT TO:<carol@example.com>"))?.code).toBe(450);
    expect((await w.cmd("RSET"))?.code).toBe(250);
    const token = marker("own-mailbox");
    expect((await send(w, "bob@example.org", "bob@example.org", message("Bob <bob@example.org>", token)))?.text).toMatch(/^250 2\.0\.0 Ok: queued/);
    expect(await delivered(token)).toHaveLength(1);
  });
});

test("secret files are not world-readable once applied (manifest modes, install -m -o -g)", () => {
  const secrets = ["/etc/postfix/sasl_passwd", "/etc/postfix/sasl_passwd.db", "/etc/dovecot/users",
    ...files.filter((f) => f.path.startsWith("/etc/opendkim/keys/")).map((f) => f.path)];
  expect(secrets.length).toBeGreaterThanOrEqual(5);
  const stat = server.exec(["stat", "-c", "%n %a %U %G", ...secrets]);
  expect(stat.rc).toBe(0);
  for (const line of stat.out.trim().split("\n")) {
    const [path, mode] = line.split(" ");
    expect({ path, worldBits: parseInt(mode, 8) & 0o007 }).toEqual({ path, worldBits: 0 });
  }
  // And who may read them: root, Dovecot's group for users, OpenDKIM for its keys.
  expect(stat.out).toMatch(/^\/etc\/postfix\/sasl_passwd 600 root root$/m);
  expect(stat.out).toMatch(/^\/etc\/dovecot\/users 640 root dovecot$/m);
  expect(stat.out).toMatch(/^\/etc\/opendkim\/keys\/example\.com\/s1\.private 600 opendkim opendkim$/m);
});
