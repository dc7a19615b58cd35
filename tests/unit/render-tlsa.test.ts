// npm run render with mailserver:dnssec: the TLSA records of _25._tcp.<hostname> land in the planned zones of
// <dir>/dns/, from TLS keys kept in <dir>/tls/ (generated once, P-256 as the stack makes them; a public key put
// there is used as is), so reruns render the same bytes. Hashes are checked against openssl.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { renderStack } from "../../scripts/render";
import { MINIMAL_RAW, SECOND_DOMAIN } from "../fixtures/config";

/** SHA-256 of the key's DER SubjectPublicKeyInfo, as openssl computes it. */
const opensslSpki = (privatePem: string) => {
  const der = execFileSync("openssl", ["pkey", "-pubout", "-outform", "DER"], { input: privatePem });
  return execFileSync("openssl", ["dgst", "-sha256", "-r"], { input: der }).toString().split(" ")[0];
};
const publicPem = (pem: string) => execFileSync("openssl", ["pkey", "-pubout"], { input: pem }).toString();

const DNSSEC = { ...MINIMAL_RAW, ...SECOND_DOMAIN, "mailserver:hostname": "mx.example.org", "mailserver:dnssec": "true", "mailserver:tlsNextKey": "k2" };

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), "render-tlsa-")); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function stackFile(config: Record<string, string>): string {
  const file = join(dir, "Pulumi.test.yaml");
  writeFileSync(file, stringify({ config }));
  return file;
}
const zone = (out: string, name: string) => readFileSync(join(out, "dns", `${name}.zone`), "utf8");
const tlsaLines = (text: string) => text.split("\n").filter((l) => / IN TLSA /.test(l));
const dnsBytes = (out: string) => Object.fromEntries(readdirSync(join(out, "dns")).map((f) => [f, readFileSync(join(out, "dns", f), "utf8")]));

test("with dnssec: one TLSA record per key (tlsKey, then tlsNextKey) in the hostname's zone, from keys generated into tls/", async () => {
  const out = join(dir, "out");
  const { generated } = await renderStack(stackFile(DNSSEC), out);
  expect(generated.tls).toEqual([join(out, "tls", "k1.pem"), join(out, "tls", "k2.pem")]);
  const [k1, k2] = generated.tls.map((f) => readFileSync(f, "utf8"));
  expect(execFileSync("openssl", ["pkey", "-noout", "-text"], { input: k1 }).toString()).toMatch(/ASN1 OID: prime256v1/);
  expect(statSync(generated.tls[0]).mode & 0o777).toBe(0o600);
  expect(statSync(join(out, "tls")).mode & 0o777).toBe(0o700);
  expect(tlsaLines(zone(out, "example.org"))).toEqual([
    `_25._tcp.mx.example.org. 300 IN TLSA 3 1 1 ${opensslSpki(k1)}`,
    `_25._tcp.mx.example.org. 300 IN TLSA 3 1 1 ${opensslSpki(k2)}`,
  ]);
  expect(tlsaLines(zone(out, "example.com"))).toEqual([]);
  expect(JSON.parse(readFileSync(join(out, "dns", "example.org.json"), "utf8"))).toContainEqual(
    { zoneId: "zone-org", zone: "example.org", name: "_25._tcp.mx.example.org", type: "TLSA", content: `3 1 1 ${opensslSpki(k1)}`, ttl: 300 });
});

test("a rerun keeps the keys and renders the same zone bytes", async () => {
  const out = join(dir, "out");
  const file = stackFile(DNSSEC);
  await renderStack(file, out);
  const first = dnsBytes(out);
  const again = await renderStack(file, out);
  expect(again.generated).toEqual({ dkim: [], tls: [] });
  expect(dnsBytes(out)).toEqual(first);
});

test("a public key put in tls/<name>.pem (the production key, read from port 25) is the one published", async () => {
  const out = join(dir, "out");
  const production = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  await renderStack(stackFile(DNSSEC), out);
  writeFileSync(join(out, "tls", "k1.pem"), publicPem(production));
  await renderStack(stackFile(DNSSEC), out);
  expect(tlsaLines(zone(out, "example.org"))[0]).toBe(`_25._tcp.mx.example.org. 300 IN TLSA 3 1 1 ${opensslSpki(production)}`);
});

test("without dnssec: no TLSA record and no TLS key", async () => {
  const out = join(dir, "out");
  const { generated } = await renderStack(stackFile({ ...MINIMAL_RAW, ...SECOND_DOMAIN, "mailserver:hostname": "mx.example.org" }), out);
  expect(generated.tls).toEqual([]);
  expect(existsSync(join(out, "tls"))).toBe(false);
  expect(tlsaLines(zone(out, "example.org"))).toEqual([]);
});
