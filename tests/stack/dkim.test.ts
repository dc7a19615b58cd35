// DKIM key rotation under mocks. A resource the program no longer registers is deleted by the engine, so
// three runs stand for three `pulumi up`s: before the switch, during the grace period, after it.
import { createPrivateKey } from "node:crypto";
import { dkimPublicKeyBase64, dkimRecordContent } from "../../components/core/dkim";
import { txtStrings } from "../../components/core/records";
import { stackConfig } from "./config";
import { byType, mockPrivateKeyPem, runProgram, RunResult, unwrap } from "./harness";

const DOMAINS = ["example.com", "example.org"];

async function run(over: Record<string, unknown> = {}): Promise<RunResult> {
  const result = await runProgram(stackConfig(over));
  if (result.error) throw result.error;
  return result;
}

const dkimKeys = (r: RunResult) => byType(r, "tls:index/privateKey:PrivateKey")
  .map((k) => k.name).filter((n) => n.startsWith("mail-dkim-")).sort();
/** DKIM record name → its text, and the resource name of each. */
const dkimRecords = (r: RunResult) => byType(r, "cloudflare:index/dnsRecord:DnsRecord")
  .filter((x) => String(x.inputs.name).includes("._domainkey."))
  .map((x) => ({ resource: x.name, name: String(x.inputs.name), text: txtStrings(String(unwrap(x.inputs.content))).join("") }))
  .sort((a, b) => a.name.localeCompare(b.name));
/** The record text the public half of a key resource makes. */
const recordOf = (keyResource: string) => dkimRecordContent(dkimPublicKeyBase64(mockPrivateKeyPem(keyResource)));
const stdinOf = (r: RunResult, name: string) => String(unwrap(r.resources.find((x) => x.name === name)?.inputs.stdin));
const keyFiles = (r: RunResult) => byType(r, "command:remote:Command")
  .map((c) => c.name).filter((n) => n.startsWith("mail-file-etc-opendkim-keys-")).sort();

let before: RunResult;
let during: RunResult;
let after: RunResult;
beforeAll(async () => {
  before = await run();
  during = await run({ "mailserver:dkimSelector": "s2", "mailserver:dkimRetiredSelectors": ["s1"] });
  after = await run({ "mailserver:dkimSelector": "s2" });
}, 300_000); // three whole-program runs: over a minute when labs share the machine

test("the default selector keeps the key resource name that existing stacks have in state", () => {
  expect(dkimKeys(before)).toEqual(["mail-dkim-example.com", "mail-dkim-example.org"]);
  expect(dkimRecords(before)).toEqual(DOMAINS.map((d) => ({
    resource: `mail-TXT-s1._domainkey.${d}`, name: `s1._domainkey.${d}`, text: recordOf(`mail-dkim-${d}`),
  })));
});

test("during the grace period: a new key for the new selector, the old key and its record unchanged", () => {
  expect(dkimKeys(during)).toEqual([
    "mail-dkim-example.com", "mail-dkim-example.org",
    "mail-dkim-s2._domainkey.example.com", "mail-dkim-s2._domainkey.example.org",
  ]);
  expect(dkimRecords(during)).toEqual([
    ...DOMAINS.map((d) => ({ resource: `mail-TXT-s1._domainkey.${d}`, name: `s1._domainkey.${d}`, text: recordOf(`mail-dkim-${d}`) })),
    ...DOMAINS.map((d) => ({ resource: `mail-TXT-s2._domainkey.${d}`, name: `s2._domainkey.${d}`, text: recordOf(`mail-dkim-s2._domainkey.${d}`) })),
  ]);
  // Same resource, same key: the old record's content does not change at the switch.
  expect(dkimRecords(during).filter((r) => r.name.startsWith("s1."))).toEqual(dkimRecords(before));
  for (const d of DOMAINS) expect(recordOf(`mail-dkim-s2._domainkey.${d}`)).not.toBe(recordOf(`mail-dkim-${d}`));
});

test("only the new selector signs: the server gets the new keys alone and the tables name only them", () => {
  expect(keyFiles(during)).toEqual(DOMAINS.map((d) => `mail-file-etc-opendkim-keys-${d}-s2.private`));
  for (const d of DOMAINS) {
    const staged = stdinOf(during, `mail-file-etc-opendkim-keys-${d}-s2.private`);
    const expected = createPrivateKey(mockPrivateKeyPem(`mail-dkim-s2._domainkey.${d}`)).export({ type: "pkcs1", format: "pem" }).toString();
    expect(staged).toBe(expected);
  }
  const keyTable = stdinOf(during, "mail-file-etc-opendkim-KeyTable");
  expect(keyTable).toContain("s2._domainkey.example.com example.com:s2:/etc/opendkim/keys/example.com/s2.private");
  expect(keyTable).not.toContain("s1");
  expect(stdinOf(during, "mail-file-etc-opendkim-setup.lua")).toContain("\"s2._domainkey.example.com\"");
  expect(stdinOf(during, "mail-file-etc-opendkim-setup.lua")).not.toContain("s1");
});

test("the new key reaches the server only after its record exists", () => {
  const provision = during.resources.find((r) => r.name === "mail-provision");
  expect(provision?.dependsOn).toEqual(expect.arrayContaining(DOMAINS.map((d) => `mail-TXT-s2._domainkey.${d}`)));
});

test("after the grace period: dropping the retired selector drops its key and its record, nothing else", () => {
  expect(dkimKeys(after)).toEqual(["mail-dkim-s2._domainkey.example.com", "mail-dkim-s2._domainkey.example.org"]);
  expect(dkimRecords(after)).toEqual(dkimRecords(during).filter((r) => r.name.startsWith("s2.")));
  const others = (r: RunResult) => r.resources.map((x) => x.name).filter((n) => !n.includes("dkim") && !n.includes("_domainkey")).sort();
  expect(others(after)).toEqual(others(during));
});
