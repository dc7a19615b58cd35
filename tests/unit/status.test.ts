// The pure parts of npm run status: SPF counting, DMARC/TLS-RPT parsing, record comparison, the verdicts on
// what the probes saw, and the output format.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  assessBlocklist, assessCertificate, assessForgedProbe, assessHelo, assessPtr, assessRelayProbe, assessSubmissionFailure,
} from "../../components/status/assess";
import { parseDmarc, parseTlsRpt } from "../../components/status/policy-records";
import { CLOUDFLARE_CAA, compareRecordSet, plannedValue, RecordSet, recordSets } from "../../components/status/record-compare";
import { exitCode, formatJson, formatLines, parseSelfcheck, printable } from "../../components/status/result";
import { countSpfLookups, spfTerms, TxtAnswer } from "../../components/status/spf";
import { txtContent, type RecordSpec } from "../../components/core/records";

// ---------- SPF ----------

/** A fake DNS: name → TXT records; names not listed do not exist; "?"-names cannot be asked. */
function dns(zone: Record<string, string[]>): (name: string) => Promise<TxtAnswer> {
  return (name) => Promise.resolve(name.startsWith("?") ? { unreachable: "REFUSED" }
    : zone[name] ? { records: zone[name] } : { missing: true });
}

test("spfTerms: qualifiers dropped, values kept, modifiers recognised", () => {
  expect(spfTerms("v=spf1 ip4:192.0.2.1 -include:_spf.example.net a/24 mx:mail.example.com redirect=_spf.example.org ~all")).toEqual([
    { name: "ip4", value: "192.0.2.1" }, { name: "include", value: "_spf.example.net" }, { name: "a" },
    { name: "mx", value: "mail.example.com" }, { name: "redirect", value: "_spf.example.org" }, { name: "all" },
  ]);
  expect(() => spfTerms("v=DMARC1; p=none")).toThrow("not an SPF record");
});

test("countSpfLookups: include, a, mx, ptr, exists and redirect count, nested ones too; ip4 and all do not", async () => {
  const zone = {
    "example.com": ["v=spf1 ip4:192.0.2.1 a mx include:mailgun.org exists:%{i}.x.example.com ~all", "google-site-verification=abc"],
    "mailgun.org": ["v=spf1 include:_spf.mailgun.org include:_spf.eu.mailgun.org ~all"],
    "_spf.mailgun.org": ["v=spf1 ip4:198.51.100.0/24 ~all"],
    "_spf.eu.mailgun.org": ["v=spf1 ptr redirect=_spf.mailgun.org"],
  };
  // a, mx, include, exists (4) + 2 includes inside mailgun.org + ptr and redirect inside the EU one.
  const count = await countSpfLookups("example.com", dns(zone));
  expect(count).toEqual({ lookups: 8, notes: [], problems: [] });
});

test("countSpfLookups: more than 10 is counted past the limit", async () => {
  const includes = Array.from({ length: 11 }, (_, i) => `include:s${i}.example.net`).join(" ");
  const zone: Record<string, string[]> = { "example.com": [`v=spf1 ${includes} -all`] };
  for (let i = 0; i < 11; i++) zone[`s${i}.example.net`] = ["v=spf1 ip4:192.0.2.1 -all"];
  expect((await countSpfLookups("example.com", dns(zone))).lookups).toBe(11);
});

test("countSpfLookups: an unreachable include is a note, a missing or doubled record and a loop are problems", async () => {
  expect(await countSpfLookups("example.com", dns({ "example.com": ["v=spf1 include:?mailgun.org ~all"] })))
    .toEqual({ lookups: 1, notes: ["?mailgun.org: REFUSED"], problems: [] });
  expect((await countSpfLookups("example.com", dns({ "example.com": ["v=spf1 include:gone.example.net ~all"] }))).problems)
    .toEqual(["gone.example.net has no SPF record"]);
  expect((await countSpfLookups("example.com", dns({ "example.com": ["v=spf1 -all", "v=spf1 ~all"] }))).problems)
    .toEqual(["example.com has 2 SPF records"]);
  const loop = await countSpfLookups("a.example", dns({ "a.example": ["v=spf1 include:b.example"], "b.example": ["v=spf1 redirect=a.example"] }));
  expect(loop.problems).toEqual(["a.example → b.example → a.example is a loop"]);
});

// ---------- DMARC and TLS-RPT ----------

test("parseDmarc: what we publish parses; what receivers ignore is named", () => {
  expect(parseDmarc("v=DMARC1; p=quarantine; rua=mailto:postmaster@example.com; adkim=r; aspf=r"))
    .toEqual({ p: "quarantine", rua: ["mailto:postmaster@example.com"] });
  expect(parseDmarc("v=DMARC1;p=reject;rua=mailto:a@example.com!10m,mailto:b@example.net;pct=100"))
    .toEqual({ p: "reject", rua: ["mailto:a@example.com!10m", "mailto:b@example.net"] });
  expect(parseDmarc("p=reject; v=DMARC1")).toEqual({ problem: "does not start with v=DMARC1" });
  expect(parseDmarc("v=DMARC1; rua=mailto:a@example.com; p=none")).toEqual({ problem: "p= does not follow v=DMARC1" });
  expect(parseDmarc("v=DMARC1; p=block")).toEqual({ problem: "p=block is not none, quarantine or reject" });
  expect(parseDmarc("v=DMARC1; p=none; adkim=x")).toEqual({ problem: "adkim=x is not r or s" });
  expect(parseDmarc("v=DMARC1; p=none; pct=150")).toEqual({ problem: "pct=150 is not 0-100" });
  expect(parseDmarc("v=DMARC1; p=none; rua=postmaster@example.com")).toEqual({ problem: "rua: postmaster@example.com is not a mailto URI" });
  expect(parseDmarc("v=DMARC1; p")).toEqual({ problem: '"p" is not tag=value' });
});

test("parseTlsRpt: mailto and https report addresses; v= first; rua required", () => {
  expect(parseTlsRpt("v=TLSRPTv1; rua=mailto:tls@example.com,https://reports.example.net/tls"))
    .toEqual({ rua: ["mailto:tls@example.com", "https://reports.example.net/tls"] });
  expect(parseTlsRpt("v=TLSRPTv1")).toEqual({ problem: "has no rua= (where reports go)" });
  expect(parseTlsRpt("rua=mailto:a@example.com; v=TLSRPTv1")).toEqual({ problem: "does not start with v=TLSRPTv1" });
  expect(parseTlsRpt("v=TLSRPTv1; rua=ftp://example.com")).toEqual({ problem: "rua: ftp://example.com is not a mailto or https URI" });
});

// ---------- planned against served ----------

const rec = (type: RecordSpec["type"], name: string, content: string, priority?: number): RecordSpec =>
  ({ zoneId: "z", zone: "example.com", name, type, content, ttl: 300, ...(priority === undefined ? {} : { priority }) });

test("plannedValue: the served form of each type (TXT joined, MX/SRV with priority, no trailing dots)", () => {
  const long = "v=DKIM1; k=rsa; p=" + "A".repeat(400);
  expect(plannedValue(rec("TXT", "s1._domainkey.example.com", txtContent(long)))).toBe(long);
  expect(plannedValue(rec("MX", "example.com", "mail.example.com", 10))).toBe("10 mail.example.com");
  expect(plannedValue(rec("SRV", "_imaps._tcp.example.com", "1 993 mail.example.com", 0))).toBe("0 1 993 mail.example.com");
  expect(plannedValue(rec("SRV", "_imap._tcp.example.com", "0 0 .", 0))).toBe("0 0 0 .");
  expect(plannedValue(rec("CAA", "example.com", '0 issue "letsencrypt.org"'))).toBe("0 issue letsencrypt.org");
});

const set = (type: RecordSpec["type"], name: string, ...values: string[]): RecordSet => ({ zone: "example.com", name, type, values });

test("recordSets: the plan's records grouped by name and type, each as its served form", () => {
  const plan = [rec("TXT", "example.com", txtContent("v=spf1 -all")), rec("MX", "example.com", "mail.example.com", 10),
    rec("TXT", "example.com", txtContent("google-site-verification=x"))];
  expect(recordSets(plan)).toEqual([set("TXT", "example.com", "v=spf1 -all", "google-site-verification=x"), set("MX", "example.com", "10 mail.example.com")]);
});

test("compareRecordSet: ok only when exactly the planned set is served; a changed value is an error showing both", () => {
  const dmarc = set("TXT", "_dmarc.example.com", "v=DMARC1; p=reject");
  expect(compareRecordSet(dmarc, { values: ["v=DMARC1; p=reject"] })).toEqual({
    id: "dns:TXT:_dmarc.example.com", status: "ok", message: "served as planned: v=DMARC1; p=reject",
  });
  expect(compareRecordSet(dmarc, { values: ["v=DMARC1; p=none"] })).toEqual({
    id: "dns:TXT:_dmarc.example.com", status: "error",
    message: 'served "v=DMARC1; p=none" instead of "v=DMARC1; p=reject" — someone changed it outside Pulumi: run pulumi up to put it back',
  });
  expect(compareRecordSet(dmarc, { missing: "no such name" }).message).toBe('not served (no such name), planned "v=DMARC1; p=reject" — run pulumi up to create it');
  expect(compareRecordSet(dmarc, { failed: "ETIMEOUT" }).status).toBe("error");
});

test.each([
  { what: "an MX of better priority (mail diverted)", s: set("MX", "example.com", "10 mail.example.com"), extra: "5 mx.attacker.example" },
  { what: "a second A for mta-sts", s: set("A", "mta-sts.example.com", "198.51.100.7"), extra: "203.0.113.9" },
  { what: "another CAA issuer", s: set("CAA", "example.com", "0 issue letsencrypt.org"), extra: "0 issue evil-ca.example" },
  { what: "a second v=STSv1 TXT (senders ignore MTA-STS)", s: set("TXT", "_mta-sts.example.com", "v=STSv1; id=1"), extra: "v=STSv1; id=2" },
])("compareRecordSet: $what beside the planned value is an error naming it", ({ s, extra }) => {
  const r = compareRecordSet(s, { values: [...s.values, extra] });
  expect(r).toEqual({
    id: `dns:${s.type}:${s.name}`, status: "error",
    message: `${JSON.stringify(extra)} served beside the planned ${JSON.stringify(s.values[0])}, not by this stack — delete it in Cloudflare, or declare it in mailserver:extraRecords`,
  });
});

test("compareRecordSet: Cloudflare's own CAA issuers beside ours are named as Cloudflare's, not an error; anything more still is", () => {
  const caa = set("CAA", "example.com", "0 issue letsencrypt.org");
  // As Cloudflare's docs list them (and as dig shows them), our letsencrypt.org among them once.
  const served = [...new Set([...caa.values, ...CLOUDFLARE_CAA])];
  expect(CLOUDFLARE_CAA).toEqual(expect.arrayContaining(["0 issue pki.goog; cansignhttpexchanges=yes", "0 issuewild sectigo.com", "0 issue ssl.com"]));
  const r = compareRecordSet(caa, { values: served });
  expect(r.status).toBe("ok");
  expect(r.message).toMatch(/^served as planned: 0 issue letsencrypt\.org; beside it Cloudflare's own CAA issuers for its Universal SSL certificates \(not in the dashboard\): 0 issue pki\.goog; cansignhttpexchanges=yes, .*0 issuewild letsencrypt\.org/);
  expect(compareRecordSet(caa, { values: [...served, "0 issue evil-ca.example"] })).toMatchObject({ status: "error", message: expect.stringMatching(/^"0 issue evil-ca\.example" served beside/) });
  // Elsewhere Cloudflare adds nothing: the same values in a TXT set are extras like any other.
  expect(compareRecordSet(set("TXT", "example.com", "v=spf1 -all"), { values: ["v=spf1 -all", "0 issue ssl.com"] }).status).toBe("error");
});

test("compareRecordSet: a set planned empty (the other address family at our name) must be absent", () => {
  const noAaaa = set("AAAA", "mail.example.com");
  expect(compareRecordSet(noAaaa, { missing: "no AAAA record" }).status).toBe("ok");
  expect(compareRecordSet(noAaaa, { values: ["2001:db8::1"] })).toEqual({
    id: "dns:AAAA:mail.example.com", status: "error",
    message: '"2001:db8::1" served beside our A record, not by this stack — delete it in Cloudflare, or declare it in mailserver:extraRecords',
  });
});

// ---------- verdicts ----------

const now = new Date("2026-01-01T00:00:00Z");
const days = (n: number) => new Date(now.getTime() + n * 86_400_000);
const cert = { port: 993, hostname: "mail.example.com", protocol: "TLSv1.3", now };

test("assessCertificate: > 14 days ok, fewer a warning; expired, untrusted, wrong name or old TLS an error", () => {
  expect(assessCertificate({ ...cert, validTo: days(60) })).toEqual({ id: "tls:993", status: "ok", message: "TLSv1.3, certificate for mail.example.com valid 60 more days" });
  expect(assessCertificate({ ...cert, validTo: days(14) }).status).toBe("ok");
  expect(assessCertificate({ ...cert, validTo: days(13.5) }).status).toBe("warning");
  expect(assessCertificate({ ...cert, validTo: days(-1) }).status).toBe("error");
  expect(assessCertificate({ ...cert, validTo: days(60), authorizationError: "SELF_SIGNED_CERT_IN_CHAIN" }).message).toMatch(/^certificate not trusted/);
  expect(assessCertificate({ ...cert, validTo: days(60), hostnameError: "Host: mail.example.com. is not in the cert's altnames" }).status).toBe("error");
  expect(assessCertificate({ ...cert, validTo: days(60), protocol: "TLSv1.1" }).status).toBe("error");
});

const reply = (code: number, text = `${code} x`) => ({ code, text });

test("assessRelayProbe: a refusal at RCPT is ok, acceptance is an open relay, a refused MAIL FROM tests nothing", () => {
  expect(assessRelayProbe({ mail: reply(250), rcpt: reply(554, "554 5.7.1 Relay access denied") }).status).toBe("ok");
  expect(assessRelayProbe({ mail: reply(250), rcpt: reply(250) })).toMatchObject({ status: "error", message: expect.stringMatching(/^OPEN RELAY/) });
  expect(assessRelayProbe({ mail: reply(553) }).status).toBe("warning");
});

test("assessForgedProbe: 5xx at MAIL or RCPT is ok, 4xx a warning, acceptance an error", () => {
  expect(assessForgedProbe({ mail: reply(250), rcpt: reply(554) }, "postmaster@example.com").status).toBe("ok");
  expect(assessForgedProbe({ mail: reply(553) }, "postmaster@example.com").status).toBe("ok");
  expect(assessForgedProbe({ mail: reply(250), rcpt: reply(450) }, "postmaster@example.com").status).toBe("warning");
  expect(assessForgedProbe({ mail: reply(250), rcpt: reply(250) }, "postmaster@example.com").status).toBe("error");
});

test("assessHelo and assessPtr", () => {
  expect(assessHelo("mail.example.com", "220 mail.example.com ESMTP", "250-mail.example.com\n250 PIPELINING").status).toBe("ok");
  expect(assessHelo("mail.example.com", "220 localhost ESMTP", "250-localhost").status).toBe("error");
  expect(assessPtr(false, "192.0.2.1", "mail.example.com", []).status).toBe("skip");
  expect(assessPtr(true, "192.0.2.1", "mail.example.com", ["mail.example.com."]).status).toBe("ok");
  expect(assessPtr(true, "192.0.2.1", "mail.example.com", ["1.2.0.192.bc.googleusercontent.com"]).status).toBe("error");
  expect(assessPtr(true, "192.0.2.1", "mail.example.com", { failed: "ENOTFOUND" }).status).toBe("error");
});

test("assessBlocklist: NXDOMAIN ok, an answer listed, Spamhaus' refusal codes and failures skipped", () => {
  expect(assessBlocklist("zen.spamhaus.org", "192.0.2.1", "not listed").status).toBe("ok");
  expect(assessBlocklist("zen.spamhaus.org", "192.0.2.1", ["127.0.0.2"]).status).toBe("error");
  expect(assessBlocklist("zen.spamhaus.org", "192.0.2.1", ["127.255.255.254"]).status).toBe("skip");
  expect(assessBlocklist("bl.spamcop.net", "192.0.2.1", { failed: "ETIMEOUT" }).status).toBe("skip");
});

test("assessSubmissionFailure: names what the server said, and the hourly limit as the limit", () => {
  // The text policyd-rate-limit answers with is ours (templates/ratelimit): the hint follows it.
  const failAction = /fail_action: "defer_if_permit (.*)"/.exec(readFileSync(join(__dirname, "../../templates/ratelimit/policyd-rate-limit.yaml.mustache"), "utf8"))?.[1];
  const limit = `450 4.7.1 <alice@example.com>: Recipient address rejected: ${failAction}`;
  expect(assessSubmissionFailure({ message: "Can't send mail - all recipients were rejected", response: limit, responseCode: 450 })).toEqual({
    id: "round-trip", status: "error",
    message: `submission on 587 refused: the server said "${limit}" — the mailbox has used up its hourly sending limit (mailserver:sendLimitPerHour, ` +
      "or its own sendLimitPerHour), and this server still counts mail to one's own mailbox: run pulumi up to deploy the rule that does not, " +
      "or retry once the hour has passed",
  });
  expect(assessSubmissionFailure({ message: "Invalid login", response: "535 5.7.8 Error: authentication failed", responseCode: 535 }).message)
    .toBe('submission on 587 refused the login: the server said "535 5.7.8 Error: authentication failed" — check the mailbox\'s password (MAILSERVER_STATUS_PASSWORD)');
  expect(assessSubmissionFailure({ message: "Greeting never received" }).message).toMatch(/^submission on 587 failed before the server answered \(Greeting never received\) — check that Postfix runs/);
  expect(assessSubmissionFailure({ message: "x", response: "451 4.3.0 Error: queue file write error", responseCode: 451 }).message)
    .toBe(`submission on 587 failed: the server said "451 4.3.0 Error: queue file write error" — see journalctl -u 'postfix*' on the server`);
});

// ---------- output ----------

test("formatLines aligns one line per check; formatJson round-trips; exit 1 only on an error", () => {
  const results = [
    { id: "tls:993", status: "ok" as const, message: "fine" },
    { id: "server:daemon:dovecot", status: "error" as const, message: "dovecot is inactive — restart it" },
    { id: "blocklists", status: "skip" as const, message: "not asked" },
  ];
  expect(formatLines(results)).toBe(
    "ok      tls:993                fine\n" +
    "error   server:daemon:dovecot  dovecot is inactive — restart it\n" +
    "skip    blocklists             not asked\n");
  expect(JSON.parse(formatJson(results))).toEqual(results);
  expect(exitCode(results)).toBe(1);
  expect(exitCode(results.filter((r) => r.status !== "error"))).toBe(0);
  expect(exitCode([{ id: "x", status: "warning", message: "" }])).toBe(0);
});

test("what a server sent is printed without control characters: no escape sequence, forged line or bidi reordering", () => {
  // A TXT record or an SMTP reply can carry anything: clear the screen, a newline with a forged "ok" line, a C1 CSI, an RLO.
  const hostile = [{ id: "server:x\u001b[2J", status: "error" as const, message: "bad\u001b[2J\r\nok      open-relay  fine\u009b31m\u202eevil\u0000" }];
  const line = formatLines(hostile);
  expect(line).toBe("error   server:x\\u001b[2J  bad\\u001b[2J\\u000d\\u000aok      open-relay  fine\\u009b31m\\u202eevil\\u0000\n");
  expect(line.split("\n")).toHaveLength(2);
  // Pretty-printed JSON has newlines of its own between fields, none inside a value.
  expect(formatJson(hostile).replace(/\n/g, "")).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/u);
  expect(printable("plain text — with ümlauts")).toBe("plain text — with ümlauts");
});

test("parseSelfcheck: the server's checks, prefixed; anything else is refused", () => {
  expect(parseSelfcheck('[{"status":"error","id":"daemon:dovecot","message":"dovecot is inactive"}]'))
    .toEqual([{ id: "server:daemon:dovecot", status: "error", message: "dovecot is inactive" }]);
  expect(() => parseSelfcheck('{"status":"ok"}')).toThrow("did not print a list");
  expect(() => parseSelfcheck('[{"status":"fine","id":"x","message":"y"}]')).toThrow("not {status, id, message}");
});
