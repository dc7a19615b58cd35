// The engine's and the providers' diff rules for the resource types this program uses: given a resource's
// stored inputs and its new ones, what `pulumi up` would do. Pure: no I/O, no Pulumi import.

export type Inputs = Record<string, unknown>;
export type Op = "same" | "create" | "update" | "replace" | "delete";

/** What the SDK sends for a value not known during a preview (sdk/nodejs/runtime/rpc.ts unknownValue). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The resource options that change a diff (pulumi/pulumi sdk/nodejs/resource.ts CustomResourceOptions). */
export interface DiffOptions {
  ignoreChanges: string[];
  replaceOnChanges: string[];
}

export interface Diff {
  op: Exclude<Op, "delete">;
  /** Dotted paths (array items by index) whose values differ. */
  changed: string[];
  /** The changed paths that force a replacement. */
  replaceBecause: string[];
}

/**
 * Per type, which inputs a provider can change in place. `updatable`: only these update, any other
 * change replaces (schemas where nearly every field is ForceNew); `forceNew`: only these replace.
 * A path segment `*` matches any key or array index.
 */
type Rule = { updatable: string[] } | { forceNew: string[] };

const TFG = "hashicorp/terraform-provider-google google/services";
export const RULES: Record<string, Rule & { source: string }> = {
  // Every attribute RequiresReplace: terraform-provider-tls internal/provider/resource_private_key.go.
  "tls:index/privateKey:PrivateKey": { updatable: [], source: "hashicorp/terraform-provider-tls internal/provider/resource_private_key.go" },
  // Only labels have an update method; description, name, region, address… are ForceNew.
  "gcp:compute/address:Address": { updatable: ["labels"], source: `${TFG}/compute/resource_compute_address.go` },
  // size grows in place (a smaller size replaces: see sizeShrinks); type, image, description, zone are ForceNew.
  "gcp:compute/disk:Disk": {
    updatable: ["size", "labels", "provisionedIops", "provisionedThroughput", "accessMode"],
    source: `${TFG}/compute/resource_compute_disk.go`,
  },
  "gcp:compute/network:Network": {
    updatable: ["routingMode", "mtu", "deleteDefaultRoutesOnCreate", "networkFirewallPolicyEnforcementOrder"],
    source: `${TFG}/compute/resource_compute_network.go`,
  },
  "gcp:compute/subnetwork:Subnetwork": {
    updatable: ["ipCidrRange", "secondaryIpRanges", "privateIpGoogleAccess", "logConfig", "stackType", "ipv6AccessType"],
    source: `${TFG}/compute/resource_compute_subnetwork.go`,
  },
  // name, network, direction and project are ForceNew; the rule itself updates with a PATCH.
  "gcp:compute/firewall:Firewall": { forceNew: ["name", "network", "direction", "project"], source: `${TFG}/compute/resource_compute_firewall.go` },
  // A resource policy has no update: every field is ForceNew.
  "gcp:compute/resourcePolicy:ResourcePolicy": { updatable: [], source: `${TFG}/compute/resource_compute_resource_policy.go` },
  "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment": {
    updatable: [], source: `${TFG}/compute/resource_compute_disk_resource_policy_attachment.go`,
  },
  // The boot disk's initialize_params, the zone, the name and the interface's network are ForceNew;
  // machine type, metadata, tags, service account, attached disks, shielded config update (stopping the VM
  // where needed, with allow_stopping_for_update; attached disks are detached and attached on the running VM).
  "gcp:compute/instance:Instance": {
    forceNew: ["name", "zone", "project", "hostname", "bootDisk.initializeParams", "bootDisk.deviceName", "bootDisk.source",
      "bootDisk.diskEncryptionKeyRaw", "bootDisk.kmsKeySelfLink", "networkInterfaces.*.network", "networkInterfaces.*.subnetwork",
      "networkInterfaces.*.networkIp", "scratchDisks", "guestAccelerators", "confidentialInstanceConfig"],
    source: `${TFG}/compute/resource_compute_instance.go`,
  },
  "gcp:serviceaccount/account:Account": {
    updatable: ["displayName", "description", "disabled"], source: `${TFG}/resourcemanager/resource_google_service_account.go`,
  },
  // IAM members have no update: project/secret, role, member and condition are ForceNew.
  "gcp:projects/iAMMember:IAMMember": { updatable: [], source: `${TFG}/../tpgiamresource/resource_iam_member.go` },
  "gcp:secretmanager/secretIamMember:SecretIamMember": { updatable: [], source: `${TFG}/../tpgiamresource/resource_iam_member.go` },
  "gcp:secretmanager/secret:Secret": {
    updatable: ["labels", "annotations", "topics", "expireTime", "ttl", "rotation", "versionAliases", "versionDestroyTtl", "deletionProtection"],
    source: `${TFG}/secretmanager/resource_secret_manager_secret.go`,
  },
  // A new secret value is a new version: secret_data is ForceNew, only `enabled` updates.
  "gcp:secretmanager/secretVersion:SecretVersion": {
    updatable: ["enabled", "deletionPolicy"], source: `${TFG}/secretmanager/resource_secret_manager_secret_version.go`,
  },
  // Cloud Monitoring: the probed resource and the checker kind are ForceNew; the rest updates.
  "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": {
    forceNew: ["monitoredResource", "resourceGroup", "checkerType", "project", "syntheticMonitor"],
    source: `${TFG}/monitoring/resource_monitoring_uptime_check_config.go`,
  },
  "gcp:monitoring/alertPolicy:AlertPolicy": { forceNew: ["project"], source: `${TFG}/monitoring/resource_monitoring_alert_policy.go` },
  "gcp:monitoring/notificationChannel:NotificationChannel": {
    forceNew: ["project"], source: `${TFG}/monitoring/resource_monitoring_notification_channel.go`,
  },
  // Only zone_id has RequiresReplace; name, type, content, ttl… are updated with a PATCH.
  "cloudflare:index/dnsRecord:DnsRecord": { forceNew: ["zoneId"], source: "cloudflare/terraform-provider-cloudflare internal/services/dns_record/schema.go" },
  // zone_id is RequiresReplace; status and the other flags are PATCHed (internal/services/zone_dnssec/schema.go, resource.go).
  "cloudflare:index/zoneDnssec:ZoneDnssec": { forceNew: ["zoneId"], source: "cloudflare/terraform-provider-cloudflare internal/services/zone_dnssec/schema.go" },
  // `triggers` is the only replaceOnChanges input; any other change is an Update, which runs `update` or
  // else `create` (pulumi/pulumi-command provider/pkg/provider/common/inputs.go, remote/commandController.go).
  "command:remote:Command": { forceNew: ["triggers"], source: "pulumi/pulumi-command provider/pkg/provider/common/inputs.go" },
  "command:local:Command": { forceNew: ["triggers"], source: "pulumi/pulumi-command provider/pkg/provider/common/inputs.go" },
};

/** Every leaf path where `a` and `b` differ; an unknown new value counts as a change (preview). */
export function changedPaths(a: unknown, b: unknown, at = ""): string[] {
  if (b === UNKNOWN) return [at];
  const bothArrays = Array.isArray(a) && Array.isArray(b);
  const bothObjects = isObject(a) && isObject(b);
  if (bothArrays || bothObjects) {
    const keys = bothArrays
      ? Array.from({ length: Math.max((a as unknown[]).length, (b as unknown[]).length) }, (_, i) => String(i))
      : [...new Set([...Object.keys(a as Inputs), ...Object.keys(b as Inputs)])].sort();
    return keys.flatMap((k) => changedPaths(
      (a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
  }
  return a === b ? [] : [at];
}

/** Whether `path` is `pattern` or lies under it (`*` matches one segment). */
export function under(path: string, pattern: string): boolean {
  const p = path.split(".");
  const q = pattern.split(".");
  return q.length <= p.length && q.every((seg, i) => seg === "*" || seg === p[i]);
}

/**
 * ignoreChanges: the engine diffs and stores the old value at those paths (pulumi/pulumi
 * pkg/resource/deploy/step_generator.go processIgnoreChanges).
 */
export function withIgnored(olds: Inputs, news: Inputs, ignore: string[]): Inputs {
  let out = news;
  for (const path of ignore) {
    const keys = path.split(".");
    const old = keys.reduce<unknown>((v, k) => (isObject(v) || Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined), olds);
    out = setPath(out, keys, old);
  }
  return out;
}

/** GCE cannot shrink a disk: the provider's CustomizeDiff turns a smaller size into ForceNew (resource_compute_disk.go). */
function sizeShrinks(type: string, olds: Inputs, news: Inputs): boolean {
  return type === "gcp:compute/disk:Disk" && typeof olds.size === "number" && typeof news.size === "number" && news.size < olds.size;
}

function forcesNew(type: string, path: string): boolean {
  const rule = RULES[type];
  // An unknown type: the provider's default Diff, which updates (pulumi/pulumi pkg/resource/plugin/provider.go).
  if (!rule) return false;
  return "updatable" in rule ? !rule.updatable.some((u) => under(path, u)) : rule.forceNew.some((f) => under(path, f));
}

/** What the engine does with a registered resource, given what the state holds for it (undefined: nothing). */
export function diffResource(type: string, olds: Inputs | undefined, news: Inputs, opts: DiffOptions): Diff {
  if (olds === undefined) return { op: "create", changed: [], replaceBecause: [] };
  const changed = changedPaths(olds, withIgnored(olds, news, opts.ignoreChanges));
  if (changed.length === 0) return { op: "same", changed, replaceBecause: [] };
  const replaceBecause = changed.filter((c) => forcesNew(type, c) || opts.replaceOnChanges.some((r) => under(c, r)));
  if (sizeShrinks(type, olds, news)) replaceBecause.push("size");
  return { op: replaceBecause.length > 0 ? "replace" : "update", changed, replaceBecause };
}

/**
 * Deletes run after every registration, dependents first: the reverse of the state's order, which is
 * the order of registration and so topological (the SDK registers a resource only once the resources
 * its inputs and dependsOn name are registered).
 */
export function deleteOrder<T>(stateOrder: T[], toDelete: Set<T>): T[] {
  return stateOrder.filter((k) => toDelete.has(k)).reverse();
}

function isObject(v: unknown): v is Inputs {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function setPath(v: Inputs, keys: string[], value: unknown): Inputs {
  const [k, ...rest] = keys;
  const copy: Inputs = Array.isArray(v) ? ([...v] as unknown as Inputs) : { ...v };
  if (rest.length === 0) {
    if (value === undefined) delete copy[k];
    else copy[k] = value;
    return copy;
  }
  const inner = copy[k];
  if (!isObject(inner) && !Array.isArray(inner)) return copy;
  copy[k] = setPath(inner as Inputs, rest, value);
  return copy;
}
