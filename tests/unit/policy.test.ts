// Each policy of the pack, called as the Pulumi engine calls it, on a violating and a compliant resource.
import type { PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { MAIL_PORTS as PROGRAM_MAIL_PORTS, WEB_PORTS as PROGRAM_WEB_PORTS } from "../../components/core/ports";
import {
  TYPES, dataDiskProtected, mailRecordsNotProxied, noSshFromWorld, onlyMailPortsPublic, policies, relaySecretIsSecret,
} from "../../policy/policies";
import { DEFAULT_WORLD_PORTS, MAIL_PORTS, isWorldRange, portRanges, stackOfUrn } from "../../policy/rules";

interface Fake {
  type: string;
  props: Record<string, unknown>;
  name?: string;
  stack?: string;
  opts?: Partial<PolicyResourceOptions>;
  config?: object;
}

function fakeArgs(f: Fake): ResourceValidationArgs {
  const name = f.name ?? "mail";
  const notApplicable = (reason?: string): never => {
    throw new Error(`not applicable: ${reason ?? ""}`);
  };
  return {
    type: f.type,
    props: f.props,
    name,
    urn: `urn:pulumi:${f.stack ?? "prod"}::mailserver::mailserver:index:MailServer$${f.type}::${name}`,
    opts: { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, ...f.opts },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => (f.config ?? {}) as T,
    notApplicable,
  };
}

async function violations(policy: ResourceValidationPolicy, f: Fake): Promise<string[]> {
  const found: string[] = [];
  const validations = policy.validateResource;
  if (!validations) throw new Error(`${policy.name} has no validateResource`);
  for (const v of Array.isArray(validations) ? validations : [validations]) {
    await v(fakeArgs(f), (message) => found.push(message));
  }
  return found;
}

const firewall = (props: Record<string, unknown>): Fake => ({ type: TYPES.firewall, props, name: "mail-fw" });
const tcp = (...ports: string[]) => ({ protocol: "tcp", ports });

describe("no-ssh-from-world", () => {
  test("violations: 22 from 0.0.0.0/0, ::/0, a port range, protocol all, or no source at all", async () => {
    for (const props of [
      { allows: [tcp("22")], sourceRanges: ["0.0.0.0/0"] },
      { allows: [tcp("22")], sourceRanges: ["203.0.113.4/32", "::/0"] },
      { allows: [tcp("20-30")], sourceRanges: ["0.0.0.0/0"] },
      { allows: [{ protocol: "all" }], sourceRanges: ["0.0.0.0/0"] },
      { allows: [tcp("22")] },
    ]) {
      const v = await violations(noSshFromWorld, firewall(props));
      expect(v).toEqual([expect.stringContaining("mail-fw: opens SSH (tcp 22) to the whole Internet")]);
    }
  });

  test("compliant: SSH from the admins' ranges, mail ports from the world, other resource types", async () => {
    expect(await violations(noSshFromWorld, firewall({ allows: [tcp("22")], sourceRanges: ["203.0.113.0/24"] }))).toEqual([]);
    expect(await violations(noSshFromWorld, firewall({ allows: [tcp("25", "465")], sourceRanges: ["0.0.0.0/0"] }))).toEqual([]);
    expect(await violations(noSshFromWorld, firewall({ allows: [tcp("22")], sourceTags: ["bastion"] }))).toEqual([]);
    expect(await violations(noSshFromWorld, firewall({ allows: [tcp("22")], direction: "EGRESS" }))).toEqual([]);
    expect(await violations(noSshFromWorld, { type: TYPES.disk, props: { allows: [tcp("22")] } })).toEqual([]);
  });
});

describe("only-mail-ports-public", () => {
  test("compliant: the program's mail rule and the ACME rule", async () => {
    expect(await violations(onlyMailPortsPublic,
      firewall({ allows: [tcp("25", "465", "587", "993", "995")], sourceRanges: ["0.0.0.0/0"] }))).toEqual([]);
    expect(await violations(onlyMailPortsPublic, firewall({ allows: [tcp("80")], sourceRanges: ["0.0.0.0/0"] }))).toEqual([]);
    // Anything may be open to a limited range: that is the SSH rule's business.
    expect(await violations(onlyMailPortsPublic, firewall({ allows: [tcp("8080")], sourceRanges: ["198.51.100.0/24"] }))).toEqual([]);
  });

  test("violations: other ports, ranges, all ports, other protocols", async () => {
    expect(await violations(onlyMailPortsPublic, firewall({ allows: [tcp("25", "143")], sourceRanges: ["0.0.0.0/0"] })))
      .toEqual([expect.stringContaining("opens tcp 143 to the whole Internet")]);
    expect(await violations(onlyMailPortsPublic, firewall({ allows: [tcp("20-30")], sourceRanges: ["::/0"] })))
      .toEqual([expect.stringContaining("opens tcp 20-30")]);
    expect(await violations(onlyMailPortsPublic, firewall({ allows: [{ protocol: "tcp" }], sourceRanges: ["0.0.0.0/0"] })))
      .toEqual([expect.stringContaining("opens tcp 0-65535")]);
    expect(await violations(onlyMailPortsPublic, firewall({ allows: [{ protocol: "udp", ports: ["53"] }] })))
      .toEqual([expect.stringContaining("opens protocol udp")]);
  });

  test("the allowed ports come from the policy config", async () => {
    const f = { ...firewall({ allows: [tcp("80")], sourceRanges: ["0.0.0.0/0"] }), config: { allowedPorts: MAIL_PORTS } };
    expect(await violations(onlyMailPortsPublic, f)).toEqual([expect.stringContaining("opens tcp 80")]);
  });

  test("the pack's port list is the program's (guards against drift)", () => {
    expect(MAIL_PORTS).toEqual([...PROGRAM_MAIL_PORTS]);
    expect(DEFAULT_WORLD_PORTS).toEqual([...PROGRAM_MAIL_PORTS, ...PROGRAM_WEB_PORTS, 80]);
  });
});

describe("data-disk-protected", () => {
  const disk = (stack: string, protect: boolean, config?: object): Fake =>
    ({ type: TYPES.disk, props: { sizeGb: 20 }, name: "mail-data", stack, opts: { protect }, config });

  test("violation: an unprotected disk in prod or dev", async () => {
    expect(await violations(dataDiskProtected, disk("prod", false)))
      .toEqual([expect.stringContaining("the mail data disk of stack prod is not protected")]);
    expect(await violations(dataDiskProtected, disk("dev", false))).toHaveLength(1);
    expect(await violations(dataDiskProtected, disk("testing", false))).toHaveLength(1);
  });

  test("compliant: protected anywhere, or unprotected in a test- stack or a configured one", async () => {
    expect(await violations(dataDiskProtected, disk("prod", true))).toEqual([]);
    expect(await violations(dataDiskProtected, disk("test-pr-7", false))).toEqual([]);
    expect(await violations(dataDiskProtected, disk("dev", false, { unprotectedStacks: ["dev", "test-*"] }))).toEqual([]);
  });
});

describe("mail-records-not-proxied", () => {
  const record = (type: string, proxied?: boolean): Fake =>
    ({ type: TYPES.dnsRecord, props: { type, name: "mail.example.com", content: "x", ttl: 300, proxied } });

  test("violations: proxied A, MX, TXT", async () => {
    for (const t of ["A", "MX", "TXT", "aaaa"]) {
      expect(await violations(mailRecordsNotProxied, record(t, true)))
        .toEqual([expect.stringContaining("record mail.example.com is proxied")]);
    }
  });

  test("compliant: proxied false or unset", async () => {
    expect(await violations(mailRecordsNotProxied, record("A", false))).toEqual([]);
    expect(await violations(mailRecordsNotProxied, record("MX"))).toEqual([]);
  });
});

describe("relay-secret-is-secret", () => {
  const version = (additionalSecretOutputs: string[]): Fake => ({
    type: TYPES.secretVersion, props: { secret: "projects/p/secrets/relay", secretData: "plain" },
    name: "mail-relay-password", opts: { additionalSecretOutputs },
  });

  test("violation: secretData not among the secret outputs", async () => {
    expect(await violations(relaySecretIsSecret, version([])))
      .toEqual([expect.stringContaining("secretData is not marked secret")]);
  });

  test("compliant: as the gcp SDK registers it", async () => {
    expect(await violations(relaySecretIsSecret, version(["secretData", "secretDataWo"]))).toEqual([]);
  });
});

describe("the pack", () => {
  test("has every policy once, all mandatory", () => {
    expect(policies.map((p) => p.name)).toEqual([
      "no-ssh-from-world", "only-mail-ports-public", "data-disk-protected", "mail-records-not-proxied", "relay-secret-is-secret",
    ]);
    expect(policies.every((p) => p.enforcementLevel === "mandatory")).toBe(true);
  });

  test("rule helpers", () => {
    expect(stackOfUrn("urn:pulumi:test-pr-7::mailserver::gcp:compute/disk:Disk::d")).toBe("test-pr-7");
    expect(() => stackOfUrn("nonsense")).toThrow("not a Pulumi URN");
    expect(isWorldRange("0.0.0.0/0")).toBe(true);
    expect(isWorldRange("::/0")).toBe(true);
    expect(isWorldRange("10.0.0.0/8")).toBe(false);
    expect(portRanges(["25", "1000-2000", "bogus"])).toEqual([[25, 25], [1000, 2000], [0, 65535]]);
  });
});
