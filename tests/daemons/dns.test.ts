// The records plan checked by real DNS software: named-checkzone (bind9-utils) parses the zone files,
// knotd (knot) serves them on loopback, and two independent DKIM implementations check the served key
// against the private key: python3-dkim signs and verifies a message, opendkim-testkey compares keys.
// The config is mid-rotation (s2 signs, s1 is retired): mail signed with either key must verify.
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createSocket } from "node:dgram";
import { promises as dnsp } from "node:dns";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../components/core/config";
import { dkimPublicKeyBase64, dkimRecordContent } from "../../components/core/dkim";
import { planRecords, RecordSpec } from "../../components/core/records";
import { zoneFiles } from "../../components/core/zonefile";
import { MINIMAL_RAW, SECOND_DOMAIN } from "../fixtures/config";

// Debian's interpreter: python3-dkim and python3-dnspython are installed for it, not for a PATH python.
const PYTHON = "/usr/bin/python3";
const DOMAINS = ["example.com", "example.org"];
const SELECTOR = "s2";
const RETIRED = "s1";
const SELECTORS = [SELECTOR, RETIRED];

const config = parseConfig({
  ...MINIMAL_RAW,
  ...SECOND_DOMAIN,
  "mailserver:dkimSelector": SELECTOR,
  "mailserver:dkimRetiredSelectors": JSON.stringify([RETIRED]),
  "mailserver:extraRecords": JSON.stringify([{ zoneId: "zone-com", name: "long", type: "TXT", content: "x".repeat(600) }]),
});

// Domain → selector → PKCS#1 PEM, the form tls.PrivateKey hands to the server: a key per selector.
const privateKeys: Record<string, Record<string, string>> = Object.fromEntries(DOMAINS.map((d) => [d, Object.fromEntries(
  SELECTORS.map((s) => [s, generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString()]))]));
const records = planRecords(config, "198.51.100.7", Object.fromEntries(DOMAINS.map((d) => [d, Object.fromEntries(
  SELECTORS.map((s) => [s, dkimPublicKeyBase64(privateKeys[d][s])]))])));

let dir: string;
let port: number;
let knotd: ChildProcess | undefined;
let knotLog = "";

const keyFile = (domain: string, selector: string) => join(dir, `${selector}.${domain}.private`);

async function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const p = socket.address().port;
  await new Promise<void>((resolve) => socket.close(resolve));
  return p;
}

function resolver(): dnsp.Resolver {
  const r = new dnsp.Resolver({ timeout: 1000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

async function waitForZones(): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await Promise.all(DOMAINS.map((d) => resolver().resolveSoa(d)));
      return;
    } catch (e) {
      if (Date.now() > deadline || knotd?.exitCode !== null) throw new Error(`knotd did not serve the zones: ${String(e)}\n${knotLog}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dns-test-"));
  for (const z of zoneFiles(records)) writeFileSync(join(dir, `${z.zone}.zone`), z.bind);
  for (const d of DOMAINS) for (const s of SELECTORS) writeFileSync(keyFile(d, s), privateKeys[d][s], { mode: 0o600 });
  port = await freeUdpPort();
  writeFileSync(join(dir, "knot.conf"), [
    "server:",
    `    listen: 127.0.0.1@${port}`,
    `    rundir: ${dir}`,
    "database:",
    `    storage: ${dir}`,
    "template:",
    "  - id: default",
    `    storage: ${dir}`,
    '    file: "%s.zone"',
    "    zonefile-sync: -1",
    "    journal-content: none",
    "zone:",
    ...DOMAINS.map((d) => `  - domain: ${d}`),
    "",
  ].join("\n"));
  knotd = spawn("knotd", ["-c", join(dir, "knot.conf")], { stdio: ["ignore", "pipe", "pipe"] });
  knotd.stdout?.on("data", (b: Buffer) => { knotLog += b.toString(); });
  knotd.stderr?.on("data", (b: Buffer) => { knotLog += b.toString(); });
  await waitForZones();
});

afterAll(async () => {
  if (knotd && knotd.exitCode === null) {
    const exited = new Promise((r) => knotd!.once("exit", r));
    knotd.kill("SIGTERM");
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function checkZone(zone: string, file: string) {
  // -i local: check only in-zone names, so the test never asks an outside resolver.
  return spawnSync("named-checkzone", ["-i", "local", "-k", "fail", "-m", "fail", "-M", "fail", "-n", "fail", "-S", "fail", "-r", "fail", zone, file], { encoding: "utf8" });
}

test("named-checkzone accepts every zone file", () => {
  const zones = zoneFiles(records);
  expect(zones.map((z) => z.zone)).toEqual(DOMAINS);
  for (const z of zones) {
    const result = checkZone(z.zone, join(dir, `${z.zone}.zone`));
    expect(`${result.stdout}${result.stderr}`).toContain(`zone ${z.zone}/IN: loaded serial 1`);
    expect(result.status).toBe(0);
  }
});

test("named-checkzone refuses an unsplit TXT string over 255 bytes (why the plan splits them)", () => {
  const bad: RecordSpec = { zoneId: "z", zone: "example.net", name: "t.example.net", type: "TXT", content: `"${"x".repeat(256)}"`, ttl: 300 };
  const file = join(dir, "bad.zone");
  writeFileSync(file, zoneFiles([bad])[0].bind);
  const result = checkZone("example.net", file);
  expect(`${result.stdout}${result.stderr}`).toMatch(/t\.example\.net|bad\.zone:\d+: syntax error/);
  expect(result.status).not.toBe(0);
});

test("the served DKIM record of each selector is exactly the public half of that selector's private key", async () => {
  for (const d of DOMAINS) {
    for (const s of SELECTORS) {
      const answer = await resolver().resolveTxt(`${s}._domainkey.${d}`);
      expect(answer).toHaveLength(1);
      expect(answer[0].length).toBeGreaterThan(1); // served as several strings, as Cloudflare would
      expect(answer[0].join("")).toBe(dkimRecordContent(dkimPublicKeyBase64(privateKeys[d][s])));
    }
  }
  const long = await resolver().resolveTxt("long.example.com");
  expect(long[0].join("")).toBe("x".repeat(600));
});

const VERIFY_PY = String.raw`
import sys
import dkim
import dns.resolver

port, domain, selector, key_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["127.0.0.1"]
resolver.port = port

def txt(name, timeout=5):
    answer = resolver.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
    return b"".join(b"".join(rr.strings) for rr in answer)

message = ("From: alice@%s\r\nTo: bob@example.net\r\nSubject: dkim\r\nMessage-ID: <1@%s>\r\n\r\nhello\r\n" % (domain, domain)).encode()
with open(key_path, "rb") as f:
    key = f.read()
signature = dkim.sign(message, selector.encode(), domain.encode(), key, include_headers=[b"from", b"to", b"subject", b"message-id"])
ok = dkim.verify(signature + message, dnsfunc=txt)
print("pass" if ok else "fail")
sys.exit(0 if ok else 1)
`;

/** Signs a message as `domain` with `selector` in the header but the key of (keyDomain, keySelector). */
function pythonVerify(domain: string, selector: string, keyDomain = domain, keySelector = selector) {
  const script = join(dir, "verify.py");
  writeFileSync(script, VERIFY_PY);
  return spawnSync(PYTHON, [script, String(port), domain, selector, keyFile(keyDomain, keySelector)], { encoding: "utf8" });
}

test("python3-dkim verifies mail signed with the new key and mail signed with the retired key", () => {
  for (const d of DOMAINS) {
    for (const s of SELECTORS) {
      const result = pythonVerify(d, s);
      expect(`${d} ${s}: ${`${result.stdout}${result.stderr}`.trim()}`).toBe(`${d} ${s}: pass`);
      expect(result.status).toBe(0);
    }
  }
});

test("python3-dkim rejects the other domain's key, and a key under the other selector's name", () => {
  const otherDomain = pythonVerify("example.com", SELECTOR, "example.org", SELECTOR);
  expect(otherDomain.stdout.trim()).toBe("fail");
  expect(otherDomain.status).toBe(1);
  const otherSelector = pythonVerify("example.com", SELECTOR, "example.com", RETIRED);
  expect(otherSelector.stdout.trim()).toBe("fail");
  expect(otherSelector.status).toBe(1);
});

function testkey(domain: string, selector: string, keyDomain = domain, keySelector = selector) {
  // opendkim uses libunbound: point every query at our knotd, never elsewhere.
  const unbound = join(dir, "unbound.conf");
  writeFileSync(unbound, [
    "server:", "    do-not-query-localhost: no", "    do-ip6: no", '    module-config: "iterator"',
    // Our zones are stubs; the root stub sends anything else to knotd too, which refuses it.
    ...[...DOMAINS, "."].flatMap((z) => ["stub-zone:", `    name: "${z}"`, `    stub-addr: 127.0.0.1@${port}`]), "",
  ].join("\n"));
  const conf = join(dir, "opendkim.conf");
  writeFileSync(conf, `ResolverConfiguration ${unbound}\n`);
  return spawnSync("opendkim-testkey", ["-d", domain, "-s", selector, "-k", keyFile(keyDomain, keySelector), "-x", conf, "-vvv"],
    { encoding: "utf8", timeout: 30_000 });
}

test("opendkim-testkey finds each domain's served key of each selector matching its private key", () => {
  for (const d of DOMAINS) {
    for (const s of SELECTORS) {
      const result = testkey(d, s);
      const out = `${result.stdout}${result.stderr}`;
      expect(out).toContain(`checking key '${s}._domainkey.${d}'`);
      expect(out).toContain("key OK");
      expect(result.status).toBe(0);
    }
  }
});

test("opendkim-testkey reports a mismatch for the other domain's key and for the retired key under the new selector", () => {
  for (const [keyDomain, keySelector] of [["example.org", SELECTOR], ["example.com", RETIRED]]) {
    const result = testkey("example.com", SELECTOR, keyDomain, keySelector);
    expect(`${result.stdout}${result.stderr}`).toContain("keys do not match");
    expect(result.status).not.toBe(0);
  }
});
