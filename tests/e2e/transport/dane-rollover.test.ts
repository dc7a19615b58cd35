// Issue 15 §2: rolling the TLS key without a moment where port 25 fails DANE (docs/dns.md, "Rolling the TLS key"):
// first the next key's TLSA record beside the current one, then the switch, after which only the new key's
// record remains. Each step is a real deploy of the lab; posttls-finger (DANE) verifies port 25 after each.
import { configCopy, deployLab, labConfigFile } from "../lib/deploy";
import { daneCheck, resolve, servedSpki } from "../lib/dane";
import { loadLab } from "../lib/lab";
import { onMachineOk } from "../lib/machine";

const DEPLOY_TIMEOUT = 30 * 60_000;
const lab = loadLab();
const configFile = labConfigFile(lab);
const tlsaName = `_25._tcp.${lab.hostname}`;
const tlsaHashes = async () => (await resolve(lab, tlsaName, "TLSA")).records.map((r) => r.toLowerCase().replace(/^3 1 1 /, "")).sort();

describe("TLS key rollover: publish the next key, then switch", () => {
  let current: string;
  afterAll(() => deployLab(configFile), DEPLOY_TIMEOUT);

  test("step 1 (tlsNextKey k2): two TLSA records, the server still serves the current key, DANE verified", async () => {
    current = (await servedSpki(lab)).spki;
    const record = await deployLab(configCopy(configFile, "tls-next", { "mailserver:tlsNextKey": "k2" }));
    expect(record.operations.map((o) => `${o.op} ${o.name}`)).toEqual(expect.arrayContaining(["create mail-tls-k2", "create mail-TLSA-k2._25._tcp.mail.example.test"]));
    const hashes = await tlsaHashes();
    expect(hashes).toHaveLength(2);
    expect(hashes).toContain(current);
    expect((await servedSpki(lab)).spki).toBe(current);
    expect((await daneCheck(lab, lab.hostname)).verified).toBe(true);
  }, DEPLOY_TIMEOUT);

  test("step 2 (tlsKey k2): the server serves the published next key, the old record and key are gone, DANE verified", async () => {
    const next = (await tlsaHashes()).find((h) => h !== current)!;
    await deployLab(configCopy(configFile, "tls-switched", { "mailserver:tlsKey": "k2" }));
    expect((await servedSpki(lab)).spki).toBe(next);
    expect(await tlsaHashes()).toEqual([next]);
    expect((await daneCheck(lab, lab.hostname)).verified).toBe(true);
    expect((await onMachineOk(lab, "ls /etc/mailserver/tls/keys")).trim()).toBe("k2");
  }, DEPLOY_TIMEOUT);
});
