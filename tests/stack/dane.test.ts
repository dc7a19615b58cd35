// DNSSEC and DANE in the resource graph: nothing without mailserver:dnssec; with it one ZoneDnssec per hosted
// zone, whose DS records are a stack output, and the TLSA record of port 25 computed from the very key the
// server is given; a rollover publishes the next key's record beside the current one.
import { createPublicKey, createHash } from "node:crypto";
import { byType, isSecretValue, mockPrivateKeyPem, runProgram, RunResult, unwrap } from "./harness";
import { stackConfig } from "./config";

const ZONE_DNSSEC = "cloudflare:index/zoneDnssec:ZoneDnssec";
const tlsa = (r: RunResult) => byType(r, "cloudflare:index/dnsRecord:DnsRecord").filter((x) => x.inputs.type === "TLSA");
const named = (r: RunResult, name: string) => r.resources.find((x) => x.name === name)!;
/** SHA-256 of the SubjectPublicKeyInfo, computed here independently of core/dane.ts. */
const spkiHex = (pem: string) => createHash("sha256").update(createPublicKey(pem).export({ type: "spki", format: "der" })).digest("hex");

async function program(over: Record<string, unknown> = {}): Promise<RunResult> {
  const r = await runProgram(stackConfig(over));
  if (r.error) throw r.error;
  return r;
}

test("without dnssec: no ZoneDnssec, no TLSA record, an empty DS output; the server still gets the stack's key", async () => {
  const r = await program();
  expect(byType(r, ZONE_DNSSEC)).toHaveLength(0);
  expect(tlsa(r)).toHaveLength(0);
  expect(r.outputs.dnssecDs.value).toEqual({});
  expect(r.outputs.tlsaRecords.value).toEqual([]);
  expect(named(r, "mail-tls-k1").inputs).toMatchObject({ algorithm: "ECDSA", ecdsaCurve: "P256" });
  expect(named(r, "mail-tls")).toBeDefined();
});

describe("with dnssec", () => {
  let r: RunResult;
  beforeAll(async () => { r = await program({ "mailserver:dnssec": "true" }); });

  test("one active ZoneDnssec per hosted zone, and the DS output names every domain", () => {
    const zones = byType(r, ZONE_DNSSEC);
    expect(zones.map((z) => [z.name, z.inputs.zoneId, z.inputs.status])).toEqual([
      ["mail-dnssec-example.com", "zone-example", "active"], ["mail-dnssec-example.org", "zone-org", "active"]]);
    expect(Object.keys(r.outputs.dnssecDs.value as object)).toEqual(["example.com", "example.org"]);
  });

  test("a destroy, a dropped domain or dnssec false never turns signing off: every ZoneDnssec is retainOnDelete", () => {
    // The provider's delete PATCHes status "disabled" (terraform-provider-cloudflare v5.19.1 zone_dnssec), while
    // the registrar keeps the DS: the domain would fail validation everywhere.
    const zones = byType(r, ZONE_DNSSEC);
    expect(zones).toHaveLength(2);
    for (const z of zones) expect([z.name, z.retainOnDelete]).toEqual([z.name, true]);
  });

  test("one TLSA record, _25._tcp.<hostname> 3 1 1, whose hash is the SPKI of the key the server receives", () => {
    const [record] = tlsa(r);
    expect(tlsa(r)).toHaveLength(1);
    expect(record.inputs).toMatchObject({ zoneId: "zone-example", name: "_25._tcp.mail.example.com", proxied: false });
    const key = mockPrivateKeyPem("mail-tls-k1");
    expect(record.inputs.data).toEqual({ usage: 3, selector: 1, matchingType: 1, certificate: spkiHex(key) });
    // The key reaches the server only on the TLS command's stdin, as a secret; its line names the hash only.
    const cmd = named(r, "mail-tls");
    expect(isSecretValue(cmd.inputs.stdin)).toBe(true);
    expect(unwrap(cmd.inputs.stdin)).toBe(key);
    expect(String(cmd.inputs.create)).toContain(`mailserver-tls install 'k1' # key spki sha256 ${spkiHex(key)}`);
    expect(String(cmd.inputs.create)).not.toMatch(/PRIVATE KEY/);
    // The record's content is a plain stack output, for npm run status to compare with what DNS serves.
    expect(r.outputs.tlsaRecords).toEqual({ value: [`3 1 1 ${spkiHex(key)}`], secret: false });
  });

  test("the server gets a key only after its TLSA record exists (provision, then the TLS command, waits for it)", () => {
    expect(named(r, "mail-provision").dependsOn).toContain(tlsa(r)[0].name);
  });

  test("rollover: a next key adds its own TLSA record beside the current one; the server keeps the current key", async () => {
    const next = await program({ "mailserver:dnssec": "true", "mailserver:tlsNextKey": "k2" });
    expect(tlsa(next).map((x) => x.name)).toEqual(["mail-TLSA-k1._25._tcp.mail.example.com", "mail-TLSA-k2._25._tcp.mail.example.com"]);
    expect(tlsa(next).map((x) => (x.inputs.data as { certificate: string }).certificate))
      .toEqual([spkiHex(mockPrivateKeyPem("mail-tls-k1")), spkiHex(mockPrivateKeyPem("mail-tls-k2"))]);
    expect(next.outputs.tlsaRecords.value).toEqual([`3 1 1 ${spkiHex(mockPrivateKeyPem("mail-tls-k1"))}`, `3 1 1 ${spkiHex(mockPrivateKeyPem("mail-tls-k2"))}`]);
    expect(unwrap(named(next, "mail-tls").inputs.stdin)).toBe(mockPrivateKeyPem("mail-tls-k1"));
    // The switch: k2 serves and keeps its record (same resource name), k1's record and key are gone.
    const switched = await program({ "mailserver:dnssec": "true", "mailserver:tlsKey": "k2" });
    expect(tlsa(switched).map((x) => x.name)).toEqual(["mail-TLSA-k2._25._tcp.mail.example.com"]);
    expect(unwrap(named(switched, "mail-tls").inputs.stdin)).toBe(mockPrivateKeyPem("mail-tls-k2"));
    expect(switched.resources.some((x) => x.name === "mail-tls-k1")).toBe(false);
  });
});
