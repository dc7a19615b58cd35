// The guardrails of the mail server, as pure functions over plain resource inputs, so that each rule can be
// tested without the Pulumi engine. policies.ts wraps them into @pulumi/policy policies.

/** Mail ports that may face the Internet: SMTP, submissions, submission, IMAPS, POP3S, ManageSieve. */
export const MAIL_PORTS = [25, 465, 587, 993, 995, 4190];
/** HTTPS for the MTA-STS policy and the client configuration documents (autoconfig, autodiscover). */
export const WEB_PORTS = [443];
/** ACME HTTP-01 validation needs port 80 from anywhere (the acme-http rule exists only when tls = acme). */
export const ACME_HTTP_PORT = 80;
export const DEFAULT_WORLD_PORTS = [...MAIL_PORTS, ...WEB_PORTS, ACME_HTTP_PORT];
/** Stacks that may leave their data unprotected: `*` at the end matches a prefix. */
export const DEFAULT_UNPROTECTED_STACKS = ["test-*"];

// ---------- stack names ----------

/** The stack of a resource URN, `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function stackOfUrn(urn: string): string {
  const m = /^urn:pulumi:([^:]+)::/.exec(urn);
  if (!m) throw new Error(`not a Pulumi URN: ${urn}`);
  return m[1];
}

export function stackMatches(stack: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith("*") ? stack.startsWith(p.slice(0, -1)) : stack === p));
}

// ---------- firewall ----------

export interface FirewallAllow {
  protocol: string;
  ports?: string[];
}
export interface FirewallInputs {
  direction?: string;
  sourceRanges?: string[];
  sourceTags?: string[];
  sourceServiceAccounts?: string[];
  allows?: FirewallAllow[];
}

/** A range with prefix length 0 (0.0.0.0/0, ::/0) is the whole Internet. */
export function isWorldRange(cidr: string): boolean {
  return /\/0+$/.test(cidr.trim());
}

/**
 * Whether an ingress rule admits the whole Internet. GCE applies 0.0.0.0/0 to an ingress rule that names no
 * source at all, so a missing sourceRanges counts as the world too.
 */
export function opensToWorld(fw: FirewallInputs): boolean {
  if ((fw.direction ?? "INGRESS").toUpperCase() !== "INGRESS") return false;
  const ranges = fw.sourceRanges ?? [];
  if (ranges.length === 0) return (fw.sourceTags ?? []).length === 0 && (fw.sourceServiceAccounts ?? []).length === 0;
  return ranges.some(isWorldRange);
}

type PortRange = [number, number];
const ALL_PORTS: PortRange = [0, 65535];

/** "25" → [25, 25], "8000-8080" → [8000, 8080]; no ports means every port of the protocol. */
export function portRanges(ports: string[] | undefined): PortRange[] {
  if (!ports || ports.length === 0) return [ALL_PORTS];
  return ports.map((p) => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(p);
    if (!m) return ALL_PORTS; // unreadable: assume the worst
    return [Number(m[1]), Number(m[2] ?? m[1])];
  });
}

const TCP = new Set(["tcp", "6"]);
const isTcpOrAll = (protocol: string) => TCP.has(protocol.toLowerCase()) || protocol.toLowerCase() === "all";

/** SSH (tcp 22) must never be open to the world. */
export function sshFromWorldProblems(fw: FirewallInputs): string[] {
  if (!opensToWorld(fw)) return [];
  const ssh = (fw.allows ?? []).some((a) => isTcpOrAll(a.protocol) &&
    portRanges(a.ports).some(([lo, hi]) => lo <= 22 && 22 <= hi));
  return ssh ? ["opens SSH (tcp 22) to the whole Internet — list your admins' ranges in mailserver:sshSourceRanges"] : [];
}

/** Only the mail ports (and 80 for ACME) may face the world, and only over TCP. */
export function worldPortsProblems(fw: FirewallInputs, allowed: readonly number[] = DEFAULT_WORLD_PORTS): string[] {
  if (!opensToWorld(fw)) return [];
  const problems: string[] = [];
  for (const a of fw.allows ?? []) {
    if (!TCP.has(a.protocol.toLowerCase())) {
      problems.push(`opens protocol ${a.protocol} to the whole Internet — only TCP mail ports may be public`);
      continue;
    }
    for (const [lo, hi] of portRanges(a.ports)) {
      if (lo !== hi || !allowed.includes(lo)) {
        const shown = lo === hi ? String(lo) : `${lo}-${hi}`;
        problems.push(`opens tcp ${shown} to the whole Internet — only ${allowed.join(", ")} may be public`);
      }
    }
  }
  return problems;
}

// ---------- data disk ----------

/** Outside the unprotected (test) stacks, the mail data disk must carry the `protect` option. */
export function diskProtectionProblems(stack: string, protect: boolean,
  unprotectedStacks: readonly string[] = DEFAULT_UNPROTECTED_STACKS): string[] {
  if (protect || stackMatches(stack, unprotectedStacks)) return [];
  return [`the mail data disk of stack ${stack} is not protected — set mailserver:protectData true ` +
    `(only stacks matching ${unprotectedStacks.join(", ")} may leave it off)`];
}

// ---------- DNS ----------

export interface DnsRecordInputs {
  type?: string;
  name?: string;
  proxied?: boolean;
}
/** Record types a mail server publishes; Cloudflare's proxy only speaks HTTP, so none of them may be proxied. */
export const MAIL_RECORD_TYPES = ["A", "AAAA", "CNAME", "MX", "TXT"];

export function dnsProxiedProblems(r: DnsRecordInputs): string[] {
  const type = (r.type ?? "").toUpperCase();
  if (r.proxied !== true || !MAIL_RECORD_TYPES.includes(type)) return [];
  return [`${type} record ${r.name ?? ""} is proxied — mail records must set proxied: false, ` +
    "since Cloudflare's proxy does not carry SMTP or IMAP"];
}

// ---------- secrets ----------

/**
 * The relay password's SecretVersion must keep `secretData` secret. Pulumi hands policy validations plaintext
 * (secrets are unwrapped before they reach the pack), so the observable sign is the engine option
 * additionalSecretOutputs, which the gcp SDK sets for secretData; a resource registered without it would
 * write the password to the state in clear.
 */
export function secretDataProblems(additionalSecretOutputs: readonly string[]): string[] {
  return additionalSecretOutputs.includes("secretData") ? [] :
    ["secretData is not marked secret — create the version with gcp.secretmanager.SecretVersion and " +
      "secretData: pulumi.secret(...), or add additionalSecretOutputs: [\"secretData\"]"];
}
