import * as pulumi from "@pulumi/pulumi";
import { generateKeyPairSync } from "node:crypto";
import { parseConfig } from "../../components/core/config";
import { dkimPublicKeyBase64, dkimRecordContent, dkimSelectors } from "../../components/core/dkim";
import { mtaStsPolicy, mtaStsRecord } from "../../components/core/mta-sts";
import { txtStrings } from "../../components/core/records";
import { MINIMAL_RAW, SECOND_DOMAIN } from "../fixtures/config";

interface Created { type: string; name: string; inputs: Record<string, unknown>; parent?: string }
const created: Created[] = [];

pulumi.runtime.setMocks({
  newResource: (args) => {
    created.push({ type: args.type, name: args.name, inputs: args.inputs });
    return { id: `${args.name}-id`, state: args.inputs };
  },
  call: (args) => args.inputs,
}, "mailserver", "test", false);

type DnsModule = typeof import("../../components/dns");
let dnsModule: DnsModule;
beforeAll(async () => {
  dnsModule = await import("../../components/dns");
});

const raw = {
  ...MINIMAL_RAW,
  "mailserver:extraRecords": JSON.stringify([{ zoneId: "zone-com", name: "@", type: "TXT", content: "google-site-verification=abc" }]),
};
const twoDomains = { ...raw, ...SECOND_DOMAIN };

const pem = (bits: number) => generateKeyPairSync("rsa", { modulusLength: bits }).privateKey
  .export({ type: "pkcs1", format: "pem" }).toString();
const keys = { "example.com": dkimPublicKeyBase64(pem(2048)), "example.org": dkimPublicKeyBase64(pem(2048)) };
const IP = "198.51.100.7";

const settled = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

async function deploy(name: string, rawConfig: Record<string, unknown>) {
  const config = parseConfig(rawConfig);
  // The IP and keys arrive as Outputs, as from gcp.compute.Address and tls.PrivateKey.
  const dkimPublicKeys = Object.fromEntries(config.domains.map((d) => [d.name,
    Object.fromEntries(dkimSelectors(config).map((s) => [s, pulumi.output(keys[d.name as keyof typeof keys])]))]));
  const dns = new dnsModule.MailDns(name, { config, ip: pulumi.output(IP), dkimPublicKeys });
  await Promise.all(dns.dnsRecords.map((r) => settled(r.urn)));
  const records = created.filter((c) => c.type === "cloudflare:index/dnsRecord:DnsRecord" && c.name.startsWith(`${name}-`));
  return { dns, records };
}

test("two domains: every record with its name, type, zone and content; none proxied; no TXT chunk over 255", async () => {
  const { dns, records } = await deploy("mail", twoDomains);
  expect(created.find((c) => c.name === "mail")?.type).toBe("mailserver:index:MailDns");
  expect(records).toHaveLength(1 + 2 * 16 + 1 + 1);
  expect(records.every((r) => r.inputs.proxied === false && r.inputs.ttl === 300)).toBe(true);

  const one = (type: string, name: string) => {
    const found = records.filter((r) => r.inputs.type === type && r.inputs.name === name);
    expect(found).toHaveLength(1);
    return found[0].inputs;
  };
  expect(one("A", "mail.example.com")).toMatchObject({ zoneId: "zone-com", content: IP });
  for (const [domain, zoneId] of [["example.com", "zone-com"], ["example.org", "zone-org"]] as const) {
    expect(one("MX", domain)).toMatchObject({ zoneId, content: "mail.example.com", priority: 10 });
    const spf = records.filter((r) => r.inputs.type === "TXT" && r.inputs.name === domain && String(r.inputs.content).includes("v=spf1"));
    expect(spf.map((r) => r.inputs.content)).toEqual([`"v=spf1 ip4:${IP} include:mailgun.org ~all"`]);
    const dkim = one("TXT", `s1._domainkey.${domain}`);
    expect(dkim.zoneId).toBe(zoneId);
    // p= is exactly the public half of the key the server gets.
    expect(txtStrings(String(dkim.content)).join("")).toBe(dkimRecordContent(keys[domain]));
    expect(one("TXT", `_dmarc.${domain}`).content).toBe('"v=DMARC1; p=quarantine; rua=mailto:postmaster@example.com; adkim=r; aspf=r"');
    expect(one("TXT", `_smtp._tls.${domain}`).content).toBe('"v=TLSRPTv1; rua=mailto:postmaster@example.com"');
    expect(one("SRV", `_submissions._tcp.${domain}`)).toMatchObject({ zoneId, priority: 0, data: { priority: 0, weight: 1, port: 465, target: "mail.example.com" } });
    expect(one("SRV", `_submission._tcp.${domain}`)).toMatchObject({ priority: 10, data: { priority: 10, weight: 1, port: 587, target: "mail.example.com" } });
    expect(one("SRV", `_imaps._tcp.${domain}`)).toMatchObject({ priority: 0, data: { port: 993, target: "mail.example.com" } });
    expect(one("SRV", `_pop3s._tcp.${domain}`)).toMatchObject({ priority: 10, data: { port: 995, target: "mail.example.com" } });
    for (const s of ["_imap._tcp", "_pop3._tcp"]) {
      const srv = one("SRV", `${s}.${domain}`);
      expect(srv.data).toEqual({ priority: 0, weight: 0, port: 0, target: "." });
      expect(srv.content).toBeUndefined();
    }
    expect(one("A", `mta-sts.${domain}`)).toMatchObject({ zoneId, content: IP });
    expect(one("A", `autoconfig.${domain}`)).toMatchObject({ zoneId, content: IP });
    expect(one("A", `autodiscover.${domain}`)).toMatchObject({ zoneId, content: IP });
    const sts = txtStrings(String(one("TXT", `_mta-sts.${domain}`).content)).join("");
    expect(sts).toBe(mtaStsRecord(mtaStsPolicy(parseConfig(twoDomains))));
    expect(sts).toMatch(/^v=STSv1; id=[0-9a-f]{20}$/);
    // CAA as `data` {flags, tag, value}, the form the provider reads back; no content.
    const caa = one("CAA", domain);
    expect(caa).toMatchObject({ zoneId, data: { flags: 0, tag: "issue", value: "letsencrypt.org" } });
    expect(caa.content).toBeUndefined();
  }
  expect(one("TXT", "example.org._report._dmarc.example.com").content).toBe('"v=DMARC1"');
  for (const r of records.filter((x) => x.inputs.type === "TXT")) {
    expect(txtStrings(String(r.inputs.content)).every((c) => Buffer.byteLength(c) <= 255)).toBe(true);
  }
  expect(txtStrings(String(one("TXT", "s1._domainkey.example.org").content)).length).toBeGreaterThan(1);

  expect(await settled(dns.aRecord.name)).toBe("mail.example.com");
  expect(await settled(dns.aRecord.type)).toBe("A");
  const listed = await settled(dns.records);
  expect(listed).toHaveLength(records.length);
  expect(listed[0]).toEqual({ zone: "example.com", name: "mail.example.com", type: "A" });
});

test("the web names' address records are known to the component: provisioning (ACME HTTP-01) waits for them", async () => {
  const { dns } = await deploy("web", twoDomains);
  const names = await Promise.all(dns.webRecords.map((r) => settled(r.name)));
  expect(names).toEqual(["mta-sts.example.com", "autoconfig.example.com", "autodiscover.example.com",
    "mta-sts.example.org", "autoconfig.example.org", "autodiscover.example.org"]);
});

test("resource names come from type and record name: adding a domain renames nothing", async () => {
  const one = (await deploy("solo", raw)).records.map((r) => r.name.slice("solo-".length));
  const two = (await deploy("pair", twoDomains)).records.map((r) => r.name.slice("pair-".length));
  expect(one).toContain("MX-example.com");
  expect(one).toContain("TXT-s1._domainkey.example.com");
  expect(two).toEqual(expect.arrayContaining(one));
  expect(new Set(two).size).toBe(two.length);
  // The extra TXT at the apex shares type and name with SPF: it gets a content hash, SPF keeps its name.
  expect(two.filter((n) => n.startsWith("TXT-example.com"))).toEqual(["TXT-example.com", expect.stringMatching(/^TXT-example\.com-[0-9a-f]{8}$/)]);
});

test("DNS records are children of the component", async () => {
  const { dns } = await deploy("kids", raw);
  const parentUrn = await settled(dns.urn);
  const childUrn = await settled(dns.aRecord.urn);
  expect(childUrn).toContain("mailserver:index:MailDns$cloudflare:index/dnsRecord:DnsRecord::kids-A-mail.example.com");
  expect(parentUrn).toContain("mailserver:index:MailDns::kids");
});
