// dev and a test stack side by side in one GCP project and one Cloudflare zone: the test stack is made as
// `npm run test-stack -- up pr-42` makes it (Pulumi.dev.yaml + the script's config calls), both run under the
// mocks, and nothing that GCP or Cloudflare keeps by name is shared — so `destroy pr-42` cannot touch dev.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { namespaceCalls } from "../../scripts/test-stack";
import { byType, RunResult, runProgram, strings, unwrap } from "./harness";
import { stackConfig } from "./config";
import { applyCalls } from "../fixtures/config-calls";

type Raw = Record<string, unknown>;
const ROOT = join(__dirname, "../..");

/** Pulumi.dev.yaml's values, plus the secrets its comments tell the user to set. */
function devRaw(): Raw {
  const { config } = parse(readFileSync(join(ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Raw };
  return { ...config, "mailserver:relayPassword": "relay-secret", "cloudflare:apiToken": "cf-token" };
}

const asCli = (raw: Raw): Record<string, string> =>
  Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));

let dev: RunResult;
let pr: RunResult;
beforeAll(async () => {
  const devConfig = devRaw();
  const testConfig = applyCalls(devConfig, [
    ...namespaceCalls(devConfig, "pr-42", "test-pr-42"),
    ["config", "set", "mailserver:protectData", "false", "--stack", "test-pr-42"],
  ]);
  dev = await runProgram(asCli(devConfig), { stack: "dev" });
  pr = await runProgram(asCli(testConfig), { stack: "test-pr-42" });
  if (dev.error) throw dev.error;
  if (pr.error) throw pr.error;
});

/** Names GCP keeps per project (or per project and region/zone): explicit names, ids and tags. */
function gcpNames(r: RunResult): string[] {
  return r.resources.filter((x) => x.type.startsWith("gcp:")).flatMap((x) => {
    const i = x.inputs;
    return [i.name, i.accountId, i.secretId, ...((i.targetTags as string[] | undefined) ?? []), ...((i.tags as string[] | undefined) ?? [])]
      .filter((n): n is string => typeof n === "string" && !/-id$/.test(n) && x.type !== "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment");
  });
}

interface Rec { zoneId: string; name: string; type: string; content: string }
function records(r: RunResult): Rec[] {
  return byType(r, "cloudflare:index/dnsRecord:DnsRecord").map((x) => ({
    zoneId: String(x.inputs.zoneId),
    name: String(x.inputs.name),
    type: String(x.inputs.type),
    content: strings(x.inputs.content ?? x.inputs.data).map((s) => s.text).join(" "),
  }));
}

test("the test stack is in its own namespace of dev's zone", () => {
  expect(pr.outputs.hostname.value).toBe("mail.pr-42.test.example.com");
  const recs = records(pr);
  expect(recs.length).toBeGreaterThan(5);
  for (const r of recs) {
    expect(r.zoneId).toBe("0123456789abcdef0123456789abcdef");
    expect(r.name).toMatch(/(^|\.)pr-42\.test\.example\.com$/);
  }
  expect(recs.find((r) => r.type === "MX")?.content).toBe("mail.pr-42.test.example.com");
});

test("no DNS record name, and no record (name, type, content), is shared with dev", () => {
  const devNames = new Set(records(dev).map((r) => r.name));
  expect(records(pr).map((r) => r.name).filter((n) => devNames.has(n))).toEqual([]);
  const key = (r: Rec) => `${r.name} ${r.type} ${r.content}`;
  const devKeys = new Set(records(dev).map(key));
  expect(records(pr).map(key).filter((k) => devKeys.has(k))).toEqual([]);
  // Nothing in the test stack's records points at dev's hosts either.
  for (const r of records(pr)) expect(r.content).not.toMatch(/(^|[\s.@])mail\.example\.com/);
});

test("no GCP name, firewall rule, target tag or VM tag is shared with dev", () => {
  const mine = gcpNames(dev);
  const theirs = gcpNames(pr);
  expect(theirs.length).toBeGreaterThanOrEqual(10);
  expect(theirs.filter((n) => mine.includes(n))).toEqual([]);
  const tags = (r: RunResult) => byType(r, "gcp:compute/firewall:Firewall").flatMap((x) => x.inputs.targetTags as string[]);
  expect(new Set(tags(pr))).toEqual(new Set(["mail-test-pr-42"]));
  expect(new Set(tags(dev))).toEqual(new Set(["mail-dev"]));
  const vmTags = (r: RunResult) => byType(r, "gcp:compute/instance:Instance")[0].inputs.tags;
  expect(vmTags(pr)).toEqual(["mail-test-pr-42"]);
  // The rest (address, disk, VM) has no explicit name: Pulumi auto-names it with a random suffix per stack.
  for (const r of byType(pr, "gcp:compute/instance:Instance")) expect(r.inputs.name).toBeUndefined();
});

test("the test stack uses ACME staging, no PTR, and nothing of it is protected", () => {
  const provision = pr.resources.find((r) => r.name === "mail-provision")!;
  expect(String(unwrap(provision.inputs.stdin))).toContain("acme-staging-v02.api.letsencrypt.org");
  expect(pr.resources.filter((r) => r.protect)).toEqual([]);
  const vm = byType(pr, "gcp:compute/instance:Instance")[0].inputs;
  expect(JSON.stringify(vm.networkInterfaces)).not.toContain("publicPtrDomainName");
});

test("a test stack with dev's domain is refused before any resource exists", async () => {
  const r = await runProgram(asCli(devRaw()), { stack: "test-pr-42" });
  expect(r.error?.message).toContain("mailserver:domain: example.com is outside test stack test-pr-42's own namespace");
  expect(r.error?.message).toContain("example.com belongs to stack dev (Pulumi.dev.yaml)");
  expect(r.resources.filter((x) => x.type !== "pulumi:pulumi:Stack")).toEqual([]);
});

test("DNSSEC of the shared zone is never a test stack's: the script turns it off, and set by hand it is refused before any resource", async () => {
  const signedDev = { ...devRaw(), "mailserver:dnssec": true };
  const made = applyCalls(signedDev, namespaceCalls(signedDev, "pr-42", "test-pr-42"));
  expect(made["mailserver:dnssec"]).toBe("false");
  const r = await runProgram(asCli(made), { stack: "test-pr-42" });
  expect(r.error).toBeUndefined();
  expect(byType(r, "cloudflare:index/zoneDnssec:ZoneDnssec")).toEqual([]);
  const byHand = await runProgram(asCli({ ...made, "mailserver:dnssec": "true" }), { stack: "test-pr-42" });
  expect(byHand.error?.message).toContain("mailserver:dnssec: test stack test-pr-42 would manage DNSSEC of a zone it shares");
  expect(byHand.error?.message).toContain("set mailserver:dnssec false");
  expect(byHand.resources.filter((x) => x.type !== "pulumi:pulumi:Stack")).toEqual([]);
});

describe("sshViaIap", () => {
  test("adds SSH from IAP's range only, and every command connects to the local tunnel end", async () => {
    const r = await runProgram(stackConfig({ "mailserver:sshViaIap": "true", "mailserver:iapTunnelPort": "2201" }));
    expect(r.error).toBeUndefined();
    const iap = r.resources.find((x) => x.name === "mail-iap-ssh")!.inputs;
    expect(iap).toMatchObject({ name: "mail-iap-ssh-test", sourceRanges: ["35.235.240.0/20"], targetTags: ["mail-test"],
      allows: [{ protocol: "tcp", ports: ["22"] }] });
    for (const cmd of byType(r, "command:remote:Command")) {
      expect(unwrap(cmd.inputs.connection)).toMatchObject({ host: "127.0.0.1", port: 2201 });
    }
    const wait = r.resources.find((x) => x.name === "mail-wait-ssh")!.inputs;
    expect(wait.environment).toEqual({ HOST: "127.0.0.1", PORT: "2201" });
    expect(r.outputs.sshCommand.value).toContain("ssh -i deploy_key -o UserKnownHostsFile=known_hosts -o StrictHostKeyChecking=yes -p 2201 deploy@127.0.0.1");
    // The tunnel end is where ssh meets the VM's pinned key.
    expect(r.outputs.sshCommand.value).toContain('echo "[127.0.0.1]:2201 $(pulumi stack output sshHostKey)" > known_hosts');
  });

  test("off: no IAP rule, and the connection is the address on 22 as before", async () => {
    const r = await runProgram(stackConfig());
    expect(r.resources.find((x) => x.name === "mail-iap-ssh")).toBeUndefined();
    for (const cmd of byType(r, "command:remote:Command")) {
      const c = unwrap(cmd.inputs.connection) as Record<string, unknown>;
      expect(c.host).toBe("198.51.100.7");
      // The SDK fills in 22 (@pulumi/command types/input.js), so existing stacks see no change.
      expect(c.port).toBe(22);
    }
    expect(r.resources.find((x) => x.name === "mail-wait-ssh")!.inputs.environment).toEqual({ HOST: "198.51.100.7" });
  });
});
