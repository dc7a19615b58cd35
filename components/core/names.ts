// Names of the GCP resources that are unique in the whole project (not per stack): two stacks in one project
// (dev, prod, test-pr-42 …) must never share one, and each must fit its API's rules. Pure.
import { createHash } from "node:crypto";

/** The MailServer's name (program.ts): resource names and project-global names start with it. */
export const SERVER_NAME = "mail";

/** The character and length rules of each kind of project-global name. */
export const GCP_NAME_RULES = {
  // Compute Engine resource names (networks, subnetworks, firewall rules, resource policies) and network
  // tags: RFC 1035 labels of 1-63 characters (cloud.google.com/compute/docs/naming-resources).
  compute: { maxLength: 63, pattern: /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/ },
  // IAM service account ids: 6-30 characters (cloud.google.com/iam/docs/service-accounts-create).
  serviceAccount: { maxLength: 30, pattern: /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/ },
  // Secret Manager secret ids: up to 255 of letters, digits, - and _ (cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets/create).
  secret: { maxLength: 255, pattern: /^[A-Za-z0-9_-]{1,255}$/ },
} as const;

export type GcpNameKind = keyof typeof GCP_NAME_RULES;

/**
 * A name for a project-global GCP resource: `base-stack`, lowercase. A stack name that had to be changed or
 * cut to fit gets a short hash of the real name, so that no two stacks map to the same name.
 */
export function stackName(base: string, stack: string, maxLength = 63): string {
  const slug = stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  const whole = `${base}-${slug}`;
  if (slug === stack && whole.length <= maxLength) return whole;
  const hash = createHash("sha256").update(stack).digest("hex").slice(0, 6);
  return `${whole.slice(0, maxLength - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

/** The label that names the stack on each scheduled snapshot, so that its snapshots can be found (and deleted). */
export const SNAPSHOT_STACK_LABEL = "mailserver-stack";
/** A label value (lower-case letters, digits, - and _, at most 63 characters) that no other stack maps to. */
export const snapshotStackLabel = (stack: string): string => stackName("s", stack, 65).slice(2);

/** Every project-global name one stack's MailHost `name` uses, by role, with the rule it must follow. */
export interface GlobalNames {
  /** Network, subnetwork, and the network tag every firewall rule targets. */
  network: string;
  subnet: string;
  tag: string;
  firewall: { mail: string; ssh: string; sshV6: string; acmeHttp: string; iapSsh: string };
  snapshotPolicy: string;
  serviceAccount: string;
  relaySecret: string;
}

export function globalNames(name: string, stack: string): GlobalNames {
  const unique = (suffix: string, kind: GcpNameKind = "compute") =>
    stackName(suffix ? `${name}-${suffix}` : name, stack, GCP_NAME_RULES[kind].maxLength);
  return {
    network: unique(""),
    subnet: unique(""),
    tag: unique(""),
    firewall: { mail: unique("mail"), ssh: unique("ssh"), sshV6: unique("ssh-v6"), acmeHttp: unique("acme-http"), iapSsh: unique("iap-ssh") },
    snapshotPolicy: unique("snapshots"),
    serviceAccount: unique("", "serviceAccount"),
    // 63, not the API's 255: the ids stacks already have stay as they are.
    relaySecret: unique("relay-password"),
  };
}

/** Each name with its kind, for checking against GCP_NAME_RULES. */
export function namesWithKinds(n: GlobalNames): { name: string; kind: GcpNameKind }[] {
  return [
    ...[n.network, n.subnet, n.tag, ...Object.values(n.firewall), n.snapshotPolicy].map((name) => ({ name, kind: "compute" as const })),
    { name: n.serviceAccount, kind: "serviceAccount" },
    { name: n.relaySecret, kind: "secret" },
  ];
}
