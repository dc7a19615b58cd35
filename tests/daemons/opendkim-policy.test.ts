// The rendered OpenDKIM configuration and policy scripts, run by the real opendkim and driven by
// miltertest as Postfix would drive it: who gets signed with which key, and which mail is refused.
// Needs root and the Debian packages opendkim and miltertest.
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { dirname, join } from "node:path";
import { parseConfig } from "../../components/core/config";
import type { RenderedFile } from "../../components/core/files";
import { dkimPublicKeyBase64, dkimRecordContent } from "../../components/core/dkim";
import { txtContent } from "../../components/core/records";
import { renderFiles } from "../../components/core/render";
import { fixtureDkimKeys, fixtureRaw } from "../fixtures/config";

/** Each start gets its own port: a restarted opendkim cannot always bind the previous one at once. */
let port = 18890;

interface Case {
  /** The SMTP client as Postfix reports it to the milter. */
  client: { host: string; ip: string };
  /** SASL login ({auth_authen}), for mail on 587/465 (or named by XCLIENT on the Sieve lane). */
  login?: string;
  /** {daemon_name}: Postfix's milter_macro_daemon_name of the service, e.g. SIEVE for the Sieve lane. */
  daemon?: string;
  envelopeFrom: string;
  headers: [string, string][];
  body?: string;
}
interface Verdict {
  /** The milter's reply: "accept", "reject" (with a reply code), … */
  reply: string;
  /** d= of the DKIM-Signature the milter added, if any. */
  signedBy?: string;
}

const outside = { host: "mx.elsewhere.example.net", ip: "192.0.2.10" };
const local = { host: "localhost", ip: "127.0.0.1" };
const lua = (s: string) => JSON.stringify(s);

function caseScript(c: Case): string {
  const macros = ['"i"', '"Q1"', ...(c.login ? ['"{auth_authen}"', lua(c.login)] : [])].join(", ");
  return [
    // Short: a milter that stops answering (e.g. verify-only mode asked to sign) must fail fast.
    "mt.set_timeout(2)",
    `local conn = mt.connect("inet:${port}@127.0.0.1", 40, 0.25)`,
    ...(c.daemon ? [`mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", ${lua(c.daemon)})`] : []),
    `mt.conninfo(conn, ${lua(c.client.host)}, ${lua(c.client.ip)})`,
    `mt.macro(conn, SMFIC_MAIL, ${macros})`,
    `mt.mailfrom(conn, ${lua(c.envelopeFrom)})`,
    'mt.rcptto(conn, "<someone@example.net>")',
    ...c.headers.map(([n, v]) => `mt.header(conn, ${lua(n)}, ${lua(v)})`),
    "mt.eoh(conn)",
    `mt.bodystring(conn, ${lua(c.body ?? "Hello.\r\n")})`,
    "mt.eom(conn)",
    "local r = mt.getreply(conn)",
    'local sig = mt.getheader(conn, "DKIM-Signature", 0)',
    'mt.echo("RESULT " .. string.char(r) .. " " .. tostring(sig and string.match(sig, "d=([^;%s]+)")))',
    'if sig then mt.echo("SIGNATURE " .. string.gsub(sig, "[\\r\\n]", "")) end',
    "mt.disconnect(conn)",
  ].join("\n");
}

const REPLIES: Record<string, string> = { a: "accept", c: "continue", y: "reject", r: "reject", t: "tempfail", d: "discard" };

let work: string;
let files: RenderedFile[];
let daemon: ChildProcess | undefined;

/** Writes the rendered OpenDKIM files under `root` and starts opendkim on them (paths moved, nothing else). */
async function startOpendkim(conf: (text: string) => string = (t) => t): Promise<void> {
  await stopOpendkim();
  port += 1;
  const root = join(work, `etc-${Date.now()}`);
  const moveTo = (text: string) => text.split("/etc/opendkim/").join(`${root}/etc/opendkim/`);
  for (const f of files.filter((x) => x.path.startsWith("/etc/opendkim/"))) {
    const target = join(root, f.path);
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    writeFileSync(target, moveTo(f.content), { mode: 0o600 });
  }
  const confPath = join(root, "etc", "opendkim.conf");
  const rendered = files.find((f) => f.path === "/etc/opendkim.conf")?.content ?? "";
  // Run as root in the foreground on a test port; the rest of the file is exactly what was rendered.
  const moved = conf(moveTo(rendered))
    .replace(/^UserID .*\n/m, "").replace(/^PidFile .*\n/m, "")
    .replace("inet:8891@127.0.0.1", `inet:${port}@127.0.0.1`);
  // libunbound answers the DKIM key queries from memory: the public keys of the rendered private keys.
  writeFileSync(join(root, "unbound.conf"), resolverConfig(), { mode: 0o600 });
  writeFileSync(confPath, `${moved}Background no\nResolverConfiguration ${join(root, "unbound.conf")}\n`, { mode: 0o600 });
  daemon = spawn("opendkim", ["-f", "-x", confPath], { stdio: "ignore" });
  for (let i = 0; i < 80; i++) {
    if (await new Promise<boolean>((res) => {
      const s = createConnection({ host: "127.0.0.1", port }, () => { s.destroy(); res(true); });
      s.on("error", () => res(false));
    })) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("opendkim did not start listening");
}

function resolverConfig(): string {
  const lines = ["server:"];
  for (const f of files.filter((x) => x.path.startsWith("/etc/opendkim/keys/"))) {
    const domain = f.path.split("/")[4];
    lines.push(`  local-zone: "${domain}." static`,
      `  local-data: 's1._domainkey.${domain}. 300 IN TXT ${txtContent(dkimRecordContent(dkimPublicKeyBase64(f.content)))}'`);
  }
  return `${lines.join("\n")}\n`;
}

async function stopOpendkim(): Promise<void> {
  const d = daemon;
  daemon = undefined;
  if (!d || d.exitCode !== null) return;
  await new Promise((r) => { d.once("exit", r); d.kill("SIGKILL"); });
}

/** The DKIM-Signature value the milter added for `c`. */
function signatureFor(c: Case): string {
  const r = spawnSync("miltertest", ["-s", writeCase(c)], { encoding: "utf8", timeout: 30_000 });
  const m = /^SIGNATURE (.*)$/m.exec(r.stdout);
  if (!m) throw new Error(`no signature for the case (exit ${r.status}): ${r.stdout}${r.stderr}`);
  return m[1];
}

function writeCase(c: Case): string {
  const file = join(work, "case.lua");
  writeFileSync(file, caseScript(c));
  return file;
}

function verdict(c: Case): Verdict {
  const r = spawnSync("miltertest", ["-s", writeCase(c)], { encoding: "utf8", timeout: 30_000 });
  // A milter that never answers: Postfix would tempfail the message (milter_default_action).
  if (/select\(\): timeout/.test(r.stderr)) return { reply: "timeout" };
  const m = /RESULT (\S) (\S+)/.exec(r.stdout);
  // The milter hung up without a verdict: what miltertest saw is the reply (a failure for every other test).
  if (!m) return { reply: `no answer: ${r.stderr.trim()}` };
  return { reply: REPLIES[m[1]] ?? m[1], ...(m[2] === "nil" ? {} : { signedBy: m[2] }) };
}

beforeAll(async () => {
  for (const p of ["opendkim", "miltertest"]) {
    if (spawnSync("sh", ["-c", `command -v ${p}`]).status !== 0) throw new Error(`${p} is missing: apt-get install opendkim miltertest`);
  }
  // Under /run, not /tmp: OpenDKIM's RequireSafeKeys refuses keys below a world-writable directory.
  work = mkdtempSync("/run/opendkim-policy-");
  files = await renderFiles({ config: parseConfig(fixtureRaw()), dkimPrivateKeys: fixtureDkimKeys() });
  await startOpendkim();
}, 60_000);

afterAll(async () => {
  await stopOpendkim();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("mail from outside (port 25, no login)", () => {
  test("a hosted From: without our signature is refused; a foreign From: is accepted (control)", () => {
    const forged = verdict({ client: outside, envelopeFrom: "<eve@evil.example.net>",
      headers: [["From", "Alice <alice@example.com>"], ["Subject", "Invoice"]] });
    expect(forged.reply).toBe("reject");
    const genuine = verdict({ client: outside, envelopeFrom: "<eve@evil.example.net>",
      headers: [["From", "Eve <eve@evil.example.net>"], ["Subject", "Hi"]] });
    expect(genuine).toEqual({ reply: "accept" });
  });

  test("the hostname and the second domain count as hosted; a forged Authentication-Results does not help", () => {
    for (const from of ["MAILER-DAEMON@mail.example.com", "bob@example.org", "BOB@Example.ORG"]) {
      const v = verdict({ client: outside, envelopeFrom: "<eve@evil.example.net>",
        headers: [["Authentication-Results", "mail.example.com; dkim=pass header.d=example.org"], ["From", from]] });
      expect({ from, ...v }).toEqual({ from, reply: "reject" });
    }
  });

  test("a hosted address in the display name counts as well", () => {
    const v = verdict({ client: outside, envelopeFrom: "<eve@evil.example.net>",
      headers: [["From", '"alice@example.com" <eve@evil.example.net>']] });
    expect(v.reply).toBe("reject");
  });

  test("our own signed mail coming back (e.g. through a list) is accepted; changed on the way, refused", () => {
    const headers: [string, string][] = [["From", "Bob <bob@example.org>"], ["To", "list@lists.example.net"], ["Subject", "Minutes"]];
    const body = "The minutes of today.\r\n";
    const signature = signatureFor({ client: outside, login: "bob@example.org", envelopeFrom: "<bob@example.org>", headers, body });
    const back: Case = { client: outside, envelopeFrom: "<list-bounces@lists.example.net>", headers: [["DKIM-Signature", signature], ...headers], body };
    expect(verdict(back)).toEqual({ reply: "accept" });
    expect(verdict({ ...back, body: "The minutes of today, changed.\r\n" }).reply).toBe("reject");
  });

  test("two From: headers are refused", () => {
    const v = verdict({ client: outside, envelopeFrom: "<eve@evil.example.net>",
      headers: [["From", "eve@evil.example.net"], ["From", "alice@example.com"]] });
    expect(v.reply).toBe("reject");
  });

  test("mail from outside is never signed", () => {
    const v = verdict({ client: outside, envelopeFrom: "<alice@example.com>", headers: [["From", "eve@evil.example.net"]] });
    expect(v.signedBy).toBeUndefined();
  });
});

describe("mail from logged-in users (587/465)", () => {
  test("signed with the key of the envelope sender's domain", () => {
    expect(verdict({ client: outside, login: "bob@example.org", envelopeFrom: "<bob@example.org>",
      headers: [["From", "Bob <bob@example.org>"]] })).toEqual({ reply: "accept", signedBy: "example.org" });
    // alice owns postmaster@example.org (a default alias reaching her): mail as it is signed for example.org.
    expect(verdict({ client: outside, login: "alice@example.com", envelopeFrom: "<postmaster@example.org>",
      headers: [["From", "postmaster@example.org"]] })).toEqual({ reply: "accept", signedBy: "example.org" });
  });

  test("a From: the login does not own is refused, in another domain or in its own", () => {
    for (const from of ["Alice <alice@example.com>", "carol@example.com", "someone@gmail.example"]) {
      const v = verdict({ client: outside, login: "bob@example.org", envelopeFrom: "<bob@example.org>", headers: [["From", from]] });
      expect({ from, reply: v.reply }).toEqual({ from, reply: "reject" });
    }
    // Control: the same login with its own From: in the same kind of message passes.
    expect(verdict({ client: outside, login: "carol@example.com", envelopeFrom: "<carol@example.com>",
      headers: [["From", "carol@example.com"]] }).reply).toBe("accept");
  });

});

describe("mail the server makes itself (bounces, cron)", () => {
  test("a bounce (empty envelope sender) is signed with the hostname's domain key", () => {
    expect(verdict({ client: local, envelopeFrom: "<>",
      headers: [["From", "MAILER-DAEMON@mail.example.com (Mail Delivery System)"]] }))
      .toEqual({ reply: "accept", signedBy: "example.com" });
  });

  test("mail from @hostname is signed with the key of the domain above it", () => {
    expect(verdict({ client: local, envelopeFrom: "<root@mail.example.com>", headers: [["From", "root@mail.example.com"]] }))
      .toEqual({ reply: "accept", signedBy: "example.com" });
  });
});

// In verify-only mode opendkim 2.11 does not even answer a signing request (miltertest times out).
test("the checks can fail: in verify-only mode nothing is signed", async () => {
  await startOpendkim((t) => t.replace(/^Mode\s+sv$/m, "Mode v"));
  try {
    expect(verdict({ client: outside, login: "bob@example.org", envelopeFrom: "<bob@example.org>",
      headers: [["From", "bob@example.org"]] }).signedBy).toBeUndefined();
  } finally {
    await startOpendkim();
  }
}, 60_000);

describe("mail Dovecot sends for a login on the Sieve lane (issue 21 §1)", () => {
  const lane = { client: local, login: "bob@example.org", daemon: "SIEVE" } as const;
  test("a vacation reply :from another user's address is refused, from one the login owns signed for its domain", () => {
    const forged = verdict({ ...lane, envelopeFrom: "<>", headers: [["From", "alice@example.com"], ["Auto-Submitted", "auto-replied"]] });
    expect(forged.reply).toBe("reject");
    // Control: the empty sender of an auto-reply, an alias bob owns in the From:.
    expect(verdict({ ...lane, envelopeFrom: "<>", headers: [["From", "Sales <sales@example.org>"], ["Auto-Submitted", "auto-replied"]] }))
      .toEqual({ reply: "accept", signedBy: "example.org" });
  });

  test("a redirect keeps its author's From: and is not signed by us; the marker must name the login", () => {
    const redirect: Case = { ...lane, envelopeFrom: "<bob@example.org>",
      headers: [["X-Sieve-Redirected-From", "bob@example.org"], ["From", "Eve <eve@evil.example.net>"]] };
    expect(verdict(redirect)).toEqual({ reply: "accept" });
    // Someone else's marker, or the marker off the lane (submission), excuses nothing.
    expect(verdict({ ...redirect, headers: [["X-Sieve-Redirected-From", "alice@example.com"], ["From", "eve@evil.example.net"]] }).reply).toBe("reject");
    expect(verdict({ ...redirect, daemon: "ORIGINATING", client: outside }).reply).toBe("reject");
    // Not signed even when the redirected message names a hosted domain we could sign for.
    expect(verdict({ ...redirect, headers: [["X-Sieve-Redirected-From", "bob@example.org"], ["From", "alice@example.com"]] }))
      .toEqual({ reply: "accept" });
  });
});
