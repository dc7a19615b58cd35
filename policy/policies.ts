// The policies of the pack: each matches one resource type by its type token and reports what rules.ts finds.
// Kept apart from index.ts, whose PolicyPack starts a gRPC server, so that tests can call validateResource.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import {
  DEFAULT_UNPROTECTED_STACKS, DEFAULT_WORLD_PORTS, DnsRecordInputs, FirewallAllow, FirewallInputs,
  diskProtectionProblems, dnsProxiedProblems, secretDataProblems, sshFromWorldProblems, stackOfUrn, worldPortsProblems,
} from "./rules";

export const TYPES = {
  firewall: "gcp:compute/firewall:Firewall",
  disk: "gcp:compute/disk:Disk",
  dnsRecord: "cloudflare:index/dnsRecord:DnsRecord",
  secretVersion: "gcp:secretmanager/secretVersion:SecretVersion",
} as const;

// Resource inputs arrive as untyped JSON: read only what the rules need, checking each shape.
const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : undefined;
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function firewallInputs(props: Record<string, unknown>): FirewallInputs {
  const allows: FirewallAllow[] = (Array.isArray(props.allows) ? props.allows as unknown[] : [])
    .filter((a): a is Record<string, unknown> => typeof a === "object" && a !== null)
    .map((a) => ({ protocol: str(a.protocol) ?? "all", ports: strings(a.ports) }));
  return {
    direction: str(props.direction),
    sourceRanges: strings(props.sourceRanges),
    sourceTags: strings(props.sourceTags),
    sourceServiceAccounts: strings(props.sourceServiceAccounts),
    allows,
  };
}

function dnsRecordInputs(props: Record<string, unknown>): DnsRecordInputs {
  return { type: str(props.type), name: str(props.name), proxied: typeof props.proxied === "boolean" ? props.proxied : undefined };
}

/** A validation that runs `check` only on resources of `type` and reports each problem it returns. */
function onType(type: string, check: (args: ResourceValidationArgs) => string[]) {
  return (args: ResourceValidationArgs, report: ReportViolation): void => {
    if (args.type !== type) return;
    for (const problem of check(args)) report(`${args.name}: ${problem}`);
  };
}

interface WorldPortsConfig { allowedPorts?: number[] }
interface DiskConfig { unprotectedStacks?: string[] }

export const noSshFromWorld: ResourceValidationPolicy = {
  name: "no-ssh-from-world",
  description: "SSH (tcp 22) is never open to 0.0.0.0/0 or ::/0.",
  enforcementLevel: "mandatory",
  validateResource: onType(TYPES.firewall, (args) => sshFromWorldProblems(firewallInputs(args.props))),
};

export const onlyMailPortsPublic: ResourceValidationPolicy = {
  name: "only-mail-ports-public",
  description: "Only the mail ports (25, 465, 587, 993, 995, 4190) and 80 for ACME are open to the world.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { allowedPorts: { type: "array", items: { type: "integer" }, default: DEFAULT_WORLD_PORTS } },
  },
  validateResource: onType(TYPES.firewall, (args) =>
    worldPortsProblems(firewallInputs(args.props), args.getConfig<WorldPortsConfig>().allowedPorts ?? DEFAULT_WORLD_PORTS)),
};

export const dataDiskProtected: ResourceValidationPolicy = {
  name: "data-disk-protected",
  description: "The mail data disk is protected from deletion outside test stacks.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { unprotectedStacks: { type: "array", items: { type: "string" }, default: DEFAULT_UNPROTECTED_STACKS } },
  },
  // The stack is read from the URN: the pack runs in its own process, where pulumi.getStack() is not the
  // stack being previewed.
  validateResource: onType(TYPES.disk, (args) => diskProtectionProblems(stackOfUrn(args.urn), args.opts.protect,
    args.getConfig<DiskConfig>().unprotectedStacks ?? DEFAULT_UNPROTECTED_STACKS)),
};

export const mailRecordsNotProxied: ResourceValidationPolicy = {
  name: "mail-records-not-proxied",
  description: "Cloudflare records of the mail server (A, AAAA, CNAME, MX, TXT) are not proxied.",
  enforcementLevel: "mandatory",
  validateResource: onType(TYPES.dnsRecord, (args) => dnsProxiedProblems(dnsRecordInputs(args.props))),
};

export const relaySecretIsSecret: ResourceValidationPolicy = {
  name: "relay-secret-is-secret",
  description: "The relay password's Secret Manager version keeps secretData a Pulumi secret.",
  enforcementLevel: "mandatory",
  validateResource: onType(TYPES.secretVersion, (args) => secretDataProblems(args.opts.additionalSecretOutputs)),
};

export const policies: ResourceValidationPolicy[] = [
  noSshFromWorld, onlyMailPortsPublic, dataDiskProtected, mailRecordsNotProxied, relaySecretIsSecret,
];
