// Issue 15 §2: DNSSEC on the hosted zones and DANE for port 25, checked from outside the server. The lab signs
// the zones as Cloudflare would (knot, mailserver:dnssec in lab/stack.yaml) and its validating resolver
// (unbound) trusts their keys; Postfix's own DANE client (posttls-finger) then verifies port 25 against the
// TLSA record, before and after a certificate renewal, and refuses a record that does not match.
import { createHash } from "node:crypto";
import { loadLab } from "../lib/lab";
import { stateOutputs } from "../lib/deploy";
import { daneCheck, dsDigest, replaceRecords, resolve, restoreZone, servedSpki as served } from "../lib/dane";
import { onMachineOk } from "../lib/machine";

const lab = loadLab();
const zone = lab.hostname.slice(lab.hostname.indexOf(".") + 1);
const tlsaName = `_25._tcp.${lab.hostname}`;

const servedSpki = () => served(lab);

describe("DNSSEC: the lab resolver validates the hosted zones", () => {
  test.each([["A", lab.hostname], ["TLSA", tlsaName], ["MX", zone]])("%s %s is answered with AD (authenticated data)", async (type, name) => {
    const a = await resolve(lab, name, type);
    expect(a.status).toBe("NOERROR");
    expect(a.records.length).toBeGreaterThan(0);
    expect(a.ad).toBe(true);
  });

  test("control: a name in an unsigned lab zone is answered without AD", async () => {
    const a = await resolve(lab, lab.relay.name ?? "relay.lab.test", "A");
    expect(a.status).toBe("NOERROR");
    expect(a.ad).toBe(false);
  });

  test("the DS record in the stack output is the digest of the key-signing key the zone serves", async () => {
    const ds = String(stateOutputs("cloudflare:index/zoneDnssec:ZoneDnssec", `mail-dnssec-${zone}`).ds);
    const [owner, , , type, , algorithm, digestType, digest] = ds.split(" ");
    expect([owner, type, algorithm, digestType]).toEqual([`${zone}.`, "DS", "13", "2"]);
    const ksks = (await resolve(lab, zone, "DNSKEY")).records.filter((k) => k.startsWith("257 "));
    expect(ksks.map((k) => dsDigest(zone, k))).toContain(digest.toLowerCase());
  });
});

describe("DANE: port 25 matches its TLSA record", () => {
  test("the TLSA record is 3 1 1 of the key the server presents", async () => {
    const a = await resolve(lab, tlsaName, "TLSA");
    const { spki } = await servedSpki();
    expect(a.records.map((r) => r.toLowerCase())).toContain(`3 1 1 ${spki}`);
  });

  test("posttls-finger (DANE) verifies port 25", async () => {
    const check = await daneCheck(lab, lab.hostname);
    expect(check.output).toMatch(/DNSSEC-signed TLSA record/);
    expect({ verified: check.verified, output: check.output }).toMatchObject({ verified: true });
  });

  test("after a forced certificate renewal: a new certificate, the same key, still verified", async () => {
    const before = await servedSpki();
    const out = await onMachineOk(lab, "/usr/local/sbin/mailserver-tls renew --force && systemctl is-enabled mailserver-tls-renew.timer", 180_000);
    expect(out).toMatch(/tls: new certificate for key/);
    expect(out).toMatch(/enabled/);
    const after = await servedSpki();
    expect(after.fingerprint).not.toBe(before.fingerprint);
    expect(after.spki).toBe(before.spki);
    const check = await daneCheck(lab, lab.hostname);
    expect({ verified: check.verified, output: check.output }).toMatchObject({ verified: true });
  });

  describe("control: a TLSA record that does not match the key", () => {
    const wrong = createHash("sha256").update("not the server's key").digest("hex");
    beforeAll(() => replaceRecords(zone, tlsaName, "TLSA", `3 1 1 ${wrong}`));
    afterAll(() => restoreZone(zone));

    test("is served signed (AD) and posttls-finger refuses the server", async () => {
      expect((await resolve(lab, tlsaName, "TLSA")).records.map((r) => r.toLowerCase())).toEqual([`3 1 1 ${wrong}`]);
      const check = await daneCheck(lab, lab.hostname);
      expect(check.verified).toBe(false);
      expect(check.output).toMatch(/no matching DANE TLSA records/);
    });
  });
});
