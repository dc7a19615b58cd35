// The TLSA records: their hash is the SHA-256 of the key's SubjectPublicKeyInfo (checked against openssl), and
// they exist only with DNSSEC, in the hostname's zone, one per published key.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { parseConfig } from "../../components/core/config";
import { planTlsaRecords, spkiSha256, tlsaContent, tlsaName, tlsKeyNames } from "../../components/core/dane";
import { MINIMAL_RAW, SECOND_DOMAIN } from "../fixtures/config";

const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "sec1", format: "pem" }).toString();

test("spkiSha256 is what openssl computes for the key (pkey -pubout -outform DER | sha256)", () => {
  const der = execFileSync("openssl", ["pkey", "-pubout", "-outform", "DER"], { input: key });
  const expected = execFileSync("openssl", ["dgst", "-sha256", "-r"], { input: der }).toString().split(" ")[0];
  expect(spkiSha256(key)).toBe(expected);
  expect(tlsaContent(expected)).toBe(`3 1 1 ${expected}`);
  expect(() => tlsaContent("abc")).toThrow(/not a SHA-256/);
});

test("no TLSA record without DNSSEC: a record in an unsigned zone means nothing to a DANE client", () => {
  expect(planTlsaRecords(parseConfig(MINIMAL_RAW), { k1: spkiSha256(key) })).toEqual([]);
});

test("with DNSSEC: _25._tcp.<hostname> in the hostname's zone, serving key first, then the next key", () => {
  const config = parseConfig({ ...MINIMAL_RAW, ...SECOND_DOMAIN, "mailserver:hostname": "mx.example.org", "mailserver:dnssec": "true",
    "mailserver:tlsNextKey": "k2" });
  expect(tlsKeyNames(config)).toEqual(["k1", "k2"]);
  const hashes = { k1: "a".repeat(64), k2: "b".repeat(64) };
  expect(planTlsaRecords(config, hashes)).toEqual([
    { zoneId: "zone-org", zone: "example.org", name: "_25._tcp.mx.example.org", type: "TLSA", content: `3 1 1 ${hashes.k1}`, ttl: 300 },
    { zoneId: "zone-org", zone: "example.org", name: "_25._tcp.mx.example.org", type: "TLSA", content: `3 1 1 ${hashes.k2}`, ttl: 300 },
  ]);
  expect(tlsaName("mail.example.com")).toBe("_25._tcp.mail.example.com");
  expect(() => planTlsaRecords(config, { k1: hashes.k1 })).toThrow(/no public key for the TLS key k2/);
});
