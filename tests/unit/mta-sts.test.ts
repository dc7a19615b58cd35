// MTA-STS policy and id, Thunderbird's autoconfig and Outlook's autodiscover documents, CAA and the web server's strings: pure, from config.
import { parseConfig } from "../../components/core/config";
import { autoconfigXml } from "../../components/core/autoconfig";
import { autodiscoverXml } from "../../components/core/autodiscover";
import { mtaStsId, mtaStsPolicy } from "../../components/core/mta-sts";
import { nginxString } from "../../components/core/nginx";
import { clientSettings } from "../../components/core/ports";
import { planRecords, txtStrings } from "../../components/core/records";
import { certificateNames } from "../../components/core/provision";
import { MINIMAL_RAW, SECOND_DOMAIN } from "../fixtures/config";

const base = { ...MINIMAL_RAW, ...SECOND_DOMAIN };
const IP = "198.51.100.7";
const keys = { "example.com": { s1: "AA==" }, "example.org": { s1: "AA==" } };

/** The id each domain publishes in _mta-sts.<domain> TXT. */
function ids(over: Record<string, unknown> = {}): Record<string, string> {
  const records = planRecords(parseConfig({ ...base, ...over }), IP, keys);
  return Object.fromEntries(records.filter((r) => r.name.startsWith("_mta-sts.")).map((r) => {
    const [text] = txtStrings(r.content);
    return [r.name, /^v=STSv1; id=([0-9a-f]{20})$/.exec(text)?.[1] ?? `unexpected: ${text}`];
  }));
}

test("the policy: mode, our hostname as the only mx, max_age", () => {
  expect(mtaStsPolicy(parseConfig(base))).toBe("version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 604800\n");
  const enforce = parseConfig({ ...base, "mailserver:mtaStsMode": "enforce", "mailserver:mtaStsMaxAge": "1209600", "mailserver:hostname": "mx.example.org" });
  expect(mtaStsPolicy(enforce)).toBe("version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 1209600\n");
});

test("every hosted domain publishes the id of the policy it serves", () => {
  const published = ids();
  expect(Object.keys(published)).toEqual(["_mta-sts.example.com", "_mta-sts.example.org"]);
  for (const id of Object.values(published)) expect(id).toBe(mtaStsId(mtaStsPolicy(parseConfig(base))));
});

test("the id changes exactly when the policy does", () => {
  const before = ids();
  // Same config: same id.
  expect(ids()).toEqual(before);
  // Config that does not reach the policy: same id.
  expect(ids({ "mailserver:dmarcPolicy": "reject", "mailserver:dnsTtl": "3600", "mailserver:spfAll": "-all" })).toEqual(before);
  // Each part of the policy: a new id, different from every other.
  const changed = [
    ids({ "mailserver:mtaStsMode": "enforce" }),
    ids({ "mailserver:mtaStsMode": "none" }),
    ids({ "mailserver:mtaStsMaxAge": "86400" }),
    ids({ "mailserver:hostname": "mx.example.com" }),
  ].map((x) => x["_mta-sts.example.com"]);
  expect(new Set([before["_mta-sts.example.com"], ...changed]).size).toBe(1 + changed.length);
});

test("CAA: one issue record per hosted domain, at the apex, naming the configured CA", () => {
  const caa = (over: Record<string, unknown>) => planRecords(parseConfig({ ...base, ...over }), IP, keys)
    .filter((r) => r.type === "CAA").map((r) => `${r.zone} ${r.name} ${r.content}`);
  expect(caa({})).toEqual(['example.com example.com 0 issue "letsencrypt.org"', 'example.org example.org 0 issue "letsencrypt.org"']);
  expect(caa({ "mailserver:acmeServer": "https://acme.example.net/dir", "mailserver:caaIssuer": "example.net" }))
    .toEqual(['example.com example.com 0 issue "example.net"', 'example.org example.org 0 issue "example.net"']);
  expect(caa({ "mailserver:tls": "self-signed" })).toEqual(['example.com example.com 0 issue ";"', 'example.org example.org 0 issue ";"']);
});

test("the certificate covers the hostname, then mta-sts., autoconfig. and autodiscover. of every domain", () => {
  expect(certificateNames(parseConfig(base))).toEqual(["mail.example.com",
    "mta-sts.example.com", "autoconfig.example.com", "autodiscover.example.com",
    "mta-sts.example.org", "autoconfig.example.org", "autodiscover.example.org"]);
});

test("the autodiscover document offers the port table's implicit-TLS servers, IMAP first, no SPA, no login name", () => {
  const config = parseConfig(base);
  const xml = autodiscoverXml(config);
  const entries = [...xml.matchAll(/<Protocol>\s*<Type>(\w+)<\/Type>\s*<Server>([^<]+)<\/Server>\s*<Port>(\d+)<\/Port>([\s\S]*?)<\/Protocol>/g)]
    .map((m) => `${m[1]} ${m[2]}:${m[3]}${m[4].replace(/\s+/g, "")}`);
  const s = clientSettings(config.hostname);
  const flags = "<DomainRequired>off</DomainRequired><SPA>off</SPA><SSL>on</SSL><AuthRequired>on</AuthRequired>";
  const implicit = s.smtp.filter((o) => o.security === "SSL/TLS");
  expect(implicit).toHaveLength(1);
  expect(entries).toEqual([
    `IMAP ${s.imap.host}:${s.imap.port}${flags}`, `POP3 ${s.pop3.host}:${s.pop3.port}${flags}`, `SMTP ${implicit[0].host}:${implicit[0].port}${flags}`]);
  expect(xml).toContain("<AccountType>email</AccountType>\n      <Action>settings</Action>");
  expect(xml).not.toContain("LoginName");
});

test("the autoconfig document offers exactly the port table's servers, for every hosted domain", () => {
  const config = parseConfig(base);
  const xml = autoconfigXml(config);
  expect(xml).toContain("<domain>example.com</domain>\n    <domain>example.org</domain>");
  const entries = [...xml.matchAll(/<(incoming|outgoing)Server type="(\w+)">\s*<hostname>([^<]+)<\/hostname>\s*<port>(\d+)<\/port>\s*<socketType>(\w+)<\/socketType>/g)]
    .map((m) => `${m[2]} ${m[3]}:${m[4]} ${m[5]}`);
  const s = clientSettings(config.hostname);
  expect(entries).toEqual([
    `imap ${s.imap.host}:${s.imap.port} SSL`, `pop3 ${s.pop3.host}:${s.pop3.port} SSL`,
    ...s.smtp.map((o) => `smtp ${o.host}:${o.port} ${o.security === "STARTTLS" ? "STARTTLS" : "SSL"}`),
  ]);
});

test("nginx strings: quotes, backslashes and newlines escaped; $ refused", () => {
  expect(nginxString('a "b" \\c\nd')).toBe('"a \\"b\\" \\\\c\\nd"');
  expect(() => nginxString("cost: $5")).toThrow(/contains \$/);
});
