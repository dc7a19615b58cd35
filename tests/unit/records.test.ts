import { generateKeyPairSync } from "node:crypto";
import { ConfigError, MailStackConfig, parseConfig } from "../../components/core/config";
import { dkimPublicKeyBase64, dkimRecordContent } from "../../components/core/dkim";
import {
  checkSpfLookups, planRecords, RecordSpec, spfLookupCount, txtContent, txtStrings,
} from "../../components/core/records";
import { MINIMAL_RAW, SECOND_DOMAIN } from "../fixtures/config";

const base = { ...MINIMAL_RAW, ...SECOND_DOMAIN };
const IP = "198.51.100.7";

function rsaPem(bits: number): string {
  return generateKeyPairSync("rsa", {
    modulusLength: bits,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  }).privateKey;
}
const keys = { "example.com": dkimPublicKeyBase64(rsaPem(2048)), "example.org": dkimPublicKeyBase64(rsaPem(4096)) };
/** The key a domain had under a retired selector (one per domain is enough here). */
const oldKeys = { "example.com": dkimPublicKeyBase64(rsaPem(2048)), "example.org": dkimPublicKeyBase64(rsaPem(2048)) };

/** Domain → selector → key: `keys` under the current selector, `oldKeys` under the retired ones. */
function keysOf(config: MailStackConfig): Record<string, Record<string, string>> {
  return Object.fromEntries(Object.entries(keys).map(([d, k]) => [d, {
    [config.dkimSelector]: k,
    ...Object.fromEntries(config.dkimRetiredSelectors.map((s) => [s, oldKeys[d as keyof typeof oldKeys]])),
  }]));
}

function plan(over: Record<string, unknown> = {}): RecordSpec[] {
  const config = parseConfig({ ...base, ...over });
  return planRecords(config, IP, keysOf(config));
}
const find = (records: RecordSpec[], type: string, name: string) => records.filter((r) => r.type === type && r.name === name);
const text = (r: RecordSpec) => txtStrings(r.content).join("");

test("every record of both domains, each in its own zone", () => {
  const records = plan();
  const one = (type: string, name: string) => {
    const found = find(records, type, name);
    expect(found).toHaveLength(1);
    return found[0];
  };
  expect(one("A", "mail.example.com")).toEqual({ zoneId: "zone-com", zone: "example.com", name: "mail.example.com", type: "A", content: IP, ttl: 300 });
  expect(records.filter((r) => r.type === "A" && !/^(mta-sts|autoconfig|autodiscover)\./.test(r.name))).toHaveLength(1);
  for (const [domain, zoneId] of [["example.com", "zone-com"], ["example.org", "zone-org"]]) {
    const inZone = (r: RecordSpec) => expect([r.zone, r.zoneId]).toEqual([domain, zoneId]);
    const mx = one("MX", domain);
    expect([mx.content, mx.priority]).toEqual(["mail.example.com", 10]);
    inZone(mx);
    const spf = one("TXT", domain);
    expect(spf.content).toBe(`"v=spf1 ip4:${IP} include:mailgun.org ~all"`);
    inZone(spf);
    const dkim = one("TXT", `s1._domainkey.${domain}`);
    expect(text(dkim)).toBe(dkimRecordContent(keys[domain as keyof typeof keys]));
    inZone(dkim);
    expect(one("TXT", `_dmarc.${domain}`).content)
      .toBe('"v=DMARC1; p=quarantine; rua=mailto:postmaster@example.com; adkim=r; aspf=r"');
    expect(one("TXT", `_smtp._tls.${domain}`).content).toBe('"v=TLSRPTv1; rua=mailto:postmaster@example.com"');
    const srv = (service: string) => {
      const r = one("SRV", `${service}.${domain}`);
      inZone(r);
      return [r.priority, r.content];
    };
    expect(srv("_submissions._tcp")).toEqual([0, "1 465 mail.example.com"]);
    expect(srv("_submission._tcp")).toEqual([10, "1 587 mail.example.com"]);
    expect(srv("_imaps._tcp")).toEqual([0, "1 993 mail.example.com"]);
    expect(srv("_pop3s._tcp")).toEqual([10, "1 995 mail.example.com"]);
    expect(srv("_imap._tcp")).toEqual([0, "0 0 ."]);
    expect(srv("_pop3._tcp")).toEqual([0, "0 0 ."]);
    for (const host of [`mta-sts.${domain}`, `autoconfig.${domain}`, `autodiscover.${domain}`]) {
      const a = one("A", host);
      expect(a.content).toBe(IP);
      inZone(a);
    }
    const sts = one("TXT", `_mta-sts.${domain}`);
    expect(text(sts)).toMatch(/^v=STSv1; id=[0-9a-f]{20}$/);
    inZone(sts);
    const caa = one("CAA", domain);
    expect(caa.content).toBe('0 issue "letsencrypt.org"');
    inZone(caa);
  }
  // example.org reports to example.com, so example.com authorises it (RFC 7489 §7.1).
  expect(one("TXT", "example.org._report._dmarc.example.com")).toMatchObject({ zone: "example.com", content: '"v=DMARC1"' });
  expect(records).toHaveLength(1 + 2 * 16 + 1);
});

test("deterministic order and content", () => {
  expect(plan()).toEqual(plan());
  expect(plan().map((r) => `${r.type} ${r.name}`).slice(0, 4))
    .toEqual(["A mail.example.com", "MX example.com", "TXT example.com", "TXT s1._domainkey.example.com"]);
});

test("options: policy, -all, selector, report address, TTL", () => {
  const records = plan({
    "mailserver:dmarcPolicy": "reject", "mailserver:spfAll": "-all", "mailserver:dkimSelector": "k2",
    "mailserver:dmarcReportEmail": "reports@example.org", "mailserver:dnsTtl": "3600",
    "mailserver:aliases": JSON.stringify([{ source: "reports@example.org", destinations: ["alice@example.com"] }]),
  });
  expect(find(records, "TXT", "example.com")[0].content).toMatch(/ -all"$/);
  expect(text(find(records, "TXT", "_dmarc.example.org")[0])).toMatch(/^v=DMARC1; p=reject; rua=mailto:reports@example.org;/);
  expect(find(records, "TXT", "k2._domainkey.example.org")).toHaveLength(1);
  expect(find(records, "TXT", "example.com._report._dmarc.example.org")).toHaveLength(1);
  expect(records.every((r) => r.ttl === 3600)).toBe(true);
});

test("no authorisation record when the report domain is not ours", () => {
  const records = plan({ "mailserver:dmarcReportEmail": "dmarc@reports.example.net" });
  expect(records.some((r) => r.name.includes("_report._dmarc"))).toBe(false);
});

test("the A record lives in the zone that holds the hostname", () => {
  const records = plan({ "mailserver:hostname": "mx.example.org" });
  expect(records.filter((r) => r.type === "A" && r.name.startsWith("mx."))).toEqual([expect.objectContaining({ name: "mx.example.org", zone: "example.org", zoneId: "zone-org" })]);
  expect(find(records, "MX", "example.com")[0].content).toBe("mx.example.org");
});

describe("TXT chunking", () => {
  test("a 4096-bit DKIM key is split into quoted chunks of at most 255 bytes that join to the record", () => {
    const dkim = find(plan(), "TXT", "s1._domainkey.example.org")[0];
    const chunks = txtStrings(dkim.content);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => Buffer.byteLength(c) <= 255)).toBe(true);
    expect(chunks.slice(0, -1).every((c) => Buffer.byteLength(c) === 255)).toBe(true);
    expect(dkim.content).toMatch(/^"v=DKIM1; k=rsa; p=[^"]{237}" "[^"]{255}" "/);
    expect(chunks.join("")).toBe(dkimRecordContent(keys["example.org"]));
  });
  test("no TXT chunk in the plan is longer than 255 bytes", () => {
    for (const r of plan().filter((x) => x.type === "TXT")) {
      expect(txtStrings(r.content).every((c) => Buffer.byteLength(c) <= 255)).toBe(true);
    }
  });
  test("boundaries, escapes and multi-byte characters", () => {
    expect(txtContent("")).toBe('""');
    expect(txtContent("a".repeat(255))).toBe(`"${"a".repeat(255)}"`);
    expect(txtContent("a".repeat(256))).toBe(`"${"a".repeat(255)}" "a"`);
    expect(txtContent('say "hi" \\')).toBe('"say \\"hi\\" \\\\"');
    expect(txtStrings(txtContent('say "hi" \\'))).toEqual(['say "hi" \\']);
    const s = `${"a".repeat(254)}é${"b".repeat(10)}`; // é is 2 bytes: it must not be cut in half
    expect(txtStrings(txtContent(s))).toEqual(["a".repeat(254), `é${"b".repeat(10)}`]);
  });
  test("txtStrings rejects unquoted content", () => {
    expect(() => txtStrings("v=spf1 -all")).toThrow(/not a list of quoted strings/);
    expect(() => txtStrings('"a" b')).toThrow(/not a list of quoted strings/);
  });
});

describe("SPF lookup count", () => {
  test("the planned record costs 4 lookups (include:mailgun.org with its nested includes)", () => {
    expect(spfLookupCount(text(find(plan(), "TXT", "example.com")[0]))).toBe(4);
  });
  test("counts every lookup term and no ip4/ip6/all", () => {
    expect(spfLookupCount("v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 a mx:example.com ptr ~include:x.example exists:%{i}.e.example redirect=r.example -all")).toBe(6);
  });
  test("more than 10 lookups is refused", () => {
    const over = `v=spf1 include:mailgun.org ${Array.from({ length: 7 }, (_, i) => `include:s${i}.example`).join(" ")} ~all`;
    expect(spfLookupCount(over)).toBe(11);
    expect(() => checkSpfLookups(over, "SPF of example.com")).toThrow(/needs 11 DNS lookups, more than 10/);
    expect(() => checkSpfLookups(over.replace("include:s0.example ", ""), "x")).not.toThrow();
  });
});

describe("extraRecords", () => {
  const extra = (records: unknown[]) => ({ "mailserver:extraRecords": JSON.stringify(records) });
  test("appended in order in the zone whose id matches, names made absolute, TXT quoted and split", () => {
    const long = `k=rsa; p=${"A".repeat(300)}`;
    const records = plan(extra([
      { zoneId: "zone-org", name: "mx._domainkey.mg", type: "TXT", content: long },
      { zoneId: "zone-com", name: "@", type: "TXT", content: "google-site-verification=abc" },
      { zoneId: "zone-com", name: "email.mg.example.com", type: "CNAME", content: "mailgun.org.", ttl: 120 },
      { zoneId: "zone-com", name: "_xmpp._tcp", type: "SRV", content: "5 5222 xmpp.example.com.", priority: 1 },
      { zoneId: "zone-org", name: "@", type: "TXT", content: '"already" "quoted"' },
    ]));
    expect(records.slice(-5)).toEqual([
      { zoneId: "zone-org", zone: "example.org", name: "mx._domainkey.mg.example.org", type: "TXT", content: txtContent(long), ttl: 300 },
      { zoneId: "zone-com", zone: "example.com", name: "example.com", type: "TXT", content: '"google-site-verification=abc"', ttl: 300 },
      { zoneId: "zone-com", zone: "example.com", name: "email.mg.example.com", type: "CNAME", content: "mailgun.org", ttl: 120 },
      { zoneId: "zone-com", zone: "example.com", name: "_xmpp._tcp.example.com", type: "SRV", content: "5 5222 xmpp.example.com", priority: 1, ttl: 300 },
      { zoneId: "zone-org", zone: "example.org", name: "example.org", type: "TXT", content: '"already" "quoted"', ttl: 300 },
    ]);
    expect(txtStrings(records[records.length - 5].content).map((c) => c.length)).toEqual([255, 54]);
  });
  test.each([
    ["unknown zone id", { zoneId: "zone-net", name: "x", type: "A", content: "192.0.2.9" }, /extraRecords\[0\].zoneId: zone-net is not the zoneId of a hosted domain/],
    ["a second SPF record", { zoneId: "zone-com", name: "@", type: "TXT", content: "v=spf1 -all" }, /clashes with the planned TXT record/],
    ["a second DMARC record", { zoneId: "zone-org", name: "_dmarc", type: "TXT", content: "v=DMARC1; p=none" }, /clashes with the planned TXT record/],
    ["a CNAME on a planned name", { zoneId: "zone-com", name: "mail", type: "CNAME", content: "other.example" }, /clashes with the planned A record/],
    ["MX without priority", { zoneId: "zone-com", name: "sub", type: "MX", content: "mail.example.com" }, /needs a priority/],
    ["malformed SRV", { zoneId: "zone-com", name: "_x._tcp", type: "SRV", content: "mail.example.com", priority: 0 }, /weight port target/],
    ["quoted chunk over 255", { zoneId: "zone-com", name: "t", type: "TXT", content: `"${"x".repeat(256)}"` }, /longer than 255 bytes/],
  ])("%s is refused", (_name, record, message) => {
    let error: unknown;
    try {
      plan(extra([record]));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(message);
  });
  test("duplicates are refused", () => {
    const r = { zoneId: "zone-com", name: "t", type: "TXT", content: "x" };
    expect(() => plan(extra([r, r]))).toThrow(/listed twice/);
  });
});

test("a missing DKIM key or a bad IP is an error", () => {
  const config = parseConfig(base);
  expect(() => planRecords(config, IP, { "example.com": keysOf(config)["example.com"] })).toThrow(/no DKIM public key for example.org \(selector s1\)/);
  expect(() => planRecords(config, "mail.example.com", keysOf(config))).toThrow(/not an IP address/);
  const rotated = parseConfig({ ...base, "mailserver:dkimSelector": "s2", "mailserver:dkimRetiredSelectors": JSON.stringify(["s1"]) });
  const withoutOld = Object.fromEntries(Object.entries(keys).map(([d, k]) => [d, { s2: k }]));
  expect(() => planRecords(rotated, IP, withoutOld)).toThrow(/no DKIM public key for example.com \(selector s1\)/);
});

test("DKIM rotation: the new selector's key and every retired selector's key are published; order is fixed", () => {
  const records = plan({ "mailserver:dkimSelector": "s3", "mailserver:dkimRetiredSelectors": JSON.stringify(["s2", "s1"]) });
  for (const d of ["example.com", "example.org"] as const) {
    const dkim = records.filter((r) => r.type === "TXT" && r.name.endsWith(`._domainkey.${d}`));
    expect(dkim.map((r) => r.name)).toEqual([`s3._domainkey.${d}`, `s2._domainkey.${d}`, `s1._domainkey.${d}`]);
    expect(dkim.every((r) => r.zone === d)).toBe(true);
    expect(text(dkim[0])).toBe(dkimRecordContent(keys[d]));
    expect(text(dkim[1])).toBe(dkimRecordContent(oldKeys[d]));
  }
  expect(records).toHaveLength(1 + 2 * 18 + 1);
  // Dropping a retired selector drops its record and nothing else.
  const after = plan({ "mailserver:dkimSelector": "s3", "mailserver:dkimRetiredSelectors": JSON.stringify(["s2"]) });
  expect(records.filter((r) => !after.some((a) => JSON.stringify(a) === JSON.stringify(r))).map((r) => r.name))
    .toEqual(["s1._domainkey.example.com", "s1._domainkey.example.org"]);
});
