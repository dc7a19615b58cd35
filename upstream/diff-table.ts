// The providers' diff rules the lab engine applies (lab/engine/diff.ts), one row per resource type and
// input path, each with the line of provider source it rests on. scripts/check-upstream.ts re-reads every
// line from a fetched copy of the repository at the cited tag.
//
// Which source, and why these tags (package-lock.json pins the SDKs; no mirror here has a tag after
// August 2026, and these SDKs were released later, so each row cites the newest tag that can be read):
// - @pulumi/gcp 9.37.0 bridges hashicorp/terraform-provider-google-beta, not terraform-provider-google
//   (pulumi/pulumi-gcp .gitmodules: `upstream` is terraform-provider-google-beta.git). pulumi-gcp v9.35.0's
//   `upstream` submodule is commit 3dc173a3, tag v7.45.0; 9.37.0 (2026-09-16) came after the v7.46.0 upgrade
//   (pulumi/pulumi-gcp#3982, 2026-09-01), so it bridges 7.46 or later. Rows cite v7.45.0.
// - @pulumi/cloudflare 6.22.1: pulumi-cloudflare's newest mirrored commit bridges
//   cloudflare/terraform-provider-cloudflare v5.19.1 (submodule commit b2277b8b). Rows cite v5.19.1.
// - @pulumi/tls 5.6.1: pulumi-tls bridges a May 2026 commit of hashicorp/terraform-provider-tls after v4.2.1.
//   Rows cite v4.2.1.
// - @pulumi/command 1.2.1: pulumi/pulumi-command v1.2.1 itself.
// On a provider bump: move the tag, run `npm run check-upstream`, fix the lines it reports (see docs).
import type { Citation } from "./citation";

export type FieldRule = "replace" | "update" | "unordered";

export interface DiffRow {
  /** The Pulumi type token. */
  type: string;
  /** Input path in the SDK's camelCase; `*` matches any array index. */
  path: string;
  /** replace: a change forces a new resource; update: changed in place; unordered: a set, compared order-free. */
  rule: FieldRule;
  cite: Citation;
}

const TPGB = { repo: "hashicorp/terraform-provider-google-beta", tag: "v7.45.0" };
const gcp = (file: string) => `google-beta/services/${file}`;
const INSTANCE_GO = gcp("compute/resource_compute_instance.go");
const FIREWALL_GO = gcp("compute/resource_compute_firewall.go");
const POLICY_GO = gcp("compute/resource_compute_resource_policy.go");
const DISK_GO = gcp("compute/resource_compute_disk.go");
const CF = { repo: "cloudflare/terraform-provider-cloudflare", tag: "v5.19.1" };
const TLS = { repo: "hashicorp/terraform-provider-tls", tag: "v4.2.1", path: "internal/provider/resource_private_key.go" };
const COMMAND = { repo: "pulumi/pulumi-command", tag: "v1.2.1", path: "provider/pkg/provider/common/inputs.go" };

const FORCE_NEW = "ForceNew:";
const TYPE_SET = "schema.TypeSet,";

const INSTANCE = "gcp:compute/instance:Instance";
const DISK = "gcp:compute/disk:Disk";
const FIREWALL = "gcp:compute/firewall:Firewall";
const POLICY = "gcp:compute/resourcePolicy:ResourcePolicy";
const DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord";

function row(type: string, path: string, rule: FieldRule, at: Omit<Citation, "claim">, claim: string): DiffRow {
  return { type, path, rule, cite: { ...at, claim } };
}
const g = (path: string, line: number, expect: string) => ({ ...TPGB, path, line, expect });

export const DIFF_ROWS: DiffRow[] = [
  // Instance: a nested block's own ForceNew applies to adding or removing it (see BLOCK_FORCE_NEW), so
  // each field inside boot_disk and network_interface follows its own schema.
  row(INSTANCE, "bootDisk.initializeParams.size", "update", g(INSTANCE_GO, 3520, 'd.HasChange("boot_disk.0.initialize_params.0.size")'),
    "A new boot disk size is a disks/resize call on the instance's disk in Update; no ForceNew, no CustomizeDiff (GCE refuses a smaller size at apply)."),
  row(INSTANCE, "bootDisk.initializeParams.type", "replace", g(INSTANCE_GO, 395, FORCE_NEW), "initialize_params.type is ForceNew."),
  row(INSTANCE, "bootDisk.initializeParams.image", "replace", g(INSTANCE_GO, 404, FORCE_NEW), "initialize_params.image is ForceNew."),
  row(INSTANCE, "name", "replace", g(INSTANCE_GO, 649, FORCE_NEW), "name is ForceNew."),
  row(INSTANCE, "zone", "replace", g(INSTANCE_GO, 1581, FORCE_NEW), "zone is ForceNew."),
  row(INSTANCE, "networkInterfaces.*.network", "update", g(INSTANCE_GO, 3072, 'd.HasChange(prefix+".network")'),
    "A new network or subnetwork is patched with the instance stopped (updateDuringStop)."),
  row(INSTANCE, "networkInterfaces.*.subnetwork", "update", g(INSTANCE_GO, 3072, 'd.HasChange(prefix+".subnetwork")'),
    "A new network or subnetwork is patched with the instance stopped (updateDuringStop)."),
  row(INSTANCE, "networkInterfaces.*.networkIp", "replace", g(INSTANCE_GO, 209, "d.ForceNew(networkIPKey)"),
    "A new (non-empty) network_ip on the same network and subnetwork forces new (forceNewIfNetworkIPNotUpdatable)."),
  row(INSTANCE, "machineType", "update", g(INSTANCE_GO, 3907, 'd.HasChange("machine_type")'), "machine_type is set on the stopped instance in Update."),
  row(INSTANCE, "metadata", "update", g(INSTANCE_GO, 2742, 'd.HasChange("metadata")'), "metadata is set in place (setMetadata)."),
  row(INSTANCE, "tags", "update", g(INSTANCE_GO, 2842, 'd.HasChange("tags")'), "tags are set in place (setTags)."),
  row(INSTANCE, "tags", "unordered", g(INSTANCE_GO, 1570, TYPE_SET), "tags is a set: order is no change."),
  row(INSTANCE, "attachedDisks", "update", g(INSTANCE_GO, 3538, 'd.HasChange("attached_disk")'), "attached disks are detached and attached on the instance in Update."),
  row(INSTANCE, "serviceAccount", "update", g(INSTANCE_GO, 3773, 'd.HasChange("service_account.0.email")'), "A new service account is set with the instance stopped."),
  row(INSTANCE, "shieldedInstanceConfig", "update", g(INSTANCE_GO, 4003, 'd.HasChange("shielded_instance_config")'), "shielded_instance_config is updated with the instance stopped."),
  row(INSTANCE, "deletionProtection", "update", g(INSTANCE_GO, 3704, 'd.HasChange("deletion_protection")'), "deletion_protection is set in place (setDeletionProtection)."),

  // Disk: every input not listed below replaces (the schema's other fields are ForceNew).
  row(DISK, "size", "update", g(DISK_GO, 1512, 'd.HasChange("size")'), "A larger size is a disks/resize in Update (a smaller one: DISK_SHRINK)."),
  row(DISK, "description", "replace", g(DISK_GO, 542, FORCE_NEW), "description is ForceNew."),
  row(DISK, "snapshot", "replace", g(DISK_GO, 770, FORCE_NEW), "snapshot is ForceNew."),
  row(DISK, "type", "replace", g(DISK_GO, 923, FORCE_NEW), "type is ForceNew."),
  row(DISK, "zone", "replace", g(DISK_GO, 933, FORCE_NEW), "zone is ForceNew."),

  row("gcp:compute/address:Address", "description", "replace", g(gcp("compute/resource_compute_address.go"), 205, FORCE_NEW), "description is ForceNew."),
  row("gcp:compute/address:Address", "region", "replace", g(gcp("compute/resource_compute_address.go"), 305, FORCE_NEW), "region is ForceNew."),
  row("gcp:compute/address:Address", "labels", "update", g(gcp("compute/resource_compute_address.go"), 760, 'd.HasChange("effective_labels")'),
    "labels (effective_labels) are set in place (setLabels)."),
  row("gcp:compute/network:Network", "description", "replace", g(gcp("compute/resource_compute_network.go"), 168, FORCE_NEW), "description is ForceNew."),
  row("gcp:compute/network:Network", "autoCreateSubnetworks", "replace", g(gcp("compute/resource_compute_network.go"), 156, FORCE_NEW),
    "auto_create_subnetworks is ForceNew."),
  row("gcp:compute/network:Network", "name", "replace", g(gcp("compute/resource_compute_network.go"), 143, FORCE_NEW), "name is ForceNew."),
  row("gcp:compute/network:Network", "routingMode", "update", g(gcp("compute/resource_compute_network.go"), 651, 'd.HasChange("routing_mode")'), "routing_mode is patched in Update."),
  row("gcp:compute/subnetwork:Subnetwork", "name", "replace", g(gcp("compute/resource_compute_subnetwork.go"), 547, FORCE_NEW), "name is ForceNew."),
  row("gcp:compute/subnetwork:Subnetwork", "network", "replace", g(gcp("compute/resource_compute_subnetwork.go"), 560, FORCE_NEW), "network is ForceNew."),
  row("gcp:compute/subnetwork:Subnetwork", "description", "replace", g(gcp("compute/resource_compute_subnetwork.go"), 577, FORCE_NEW), "description is ForceNew."),
  row("gcp:compute/subnetwork:Subnetwork", "region", "replace", g(gcp("compute/resource_compute_subnetwork.go"), 748, FORCE_NEW), "region is ForceNew."),
  row("gcp:compute/subnetwork:Subnetwork", "ipCidrRange", "update", g(gcp("compute/resource_compute_subnetwork.go"), 1259, 'd.HasChange("ip_cidr_range")'), "ip_cidr_range is expanded in Update."),

  row(FIREWALL, "name", "replace", g(FIREWALL_GO, 249, FORCE_NEW), "name is ForceNew."),
  row(FIREWALL, "direction", "replace", g(FIREWALL_GO, 306, FORCE_NEW), "direction is ForceNew."),
  row(FIREWALL, "project", "replace", g(FIREWALL_GO, 476, FORCE_NEW), "project is ForceNew."),
  row(FIREWALL, "network", "update", g(FIREWALL_GO, 903, 'obj["network"] = networkProp'), "network has no ForceNew and is sent in Update's PATCH."),
  row(FIREWALL, "allows", "unordered", g(FIREWALL_GO, 266, TYPE_SET), "allow is a set."),
  row(FIREWALL, "sourceRanges", "unordered", g(FIREWALL_GO, 373, TYPE_SET), "source_ranges is a set."),
  row(FIREWALL, "targetTags", "unordered", g(FIREWALL_GO, 448, TYPE_SET), "target_tags is a set."),

  row(POLICY, "region", "replace", g(POLICY_GO, 299, FORCE_NEW), "region is ForceNew."),
  row(POLICY, "project", "replace", g(POLICY_GO, 511, FORCE_NEW), "project is ForceNew."),
  row(POLICY, "snapshotSchedulePolicy", "update", g(POLICY_GO, 849, 'obj["snapshotSchedulePolicy"] = snapshotSchedulePolicyProp'), "The snapshot schedule is sent in Update's PATCH."),
  row(POLICY, "description", "update", g(POLICY_GO, 843, 'obj["description"] = descriptionProp'), "description is sent in Update's PATCH."),

  row("gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment", "disk", "replace",
    g(gcp("compute/resource_compute_disk_resource_policy_attachment.go"), 151, FORCE_NEW), "disk is ForceNew."),
  row("gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment", "name", "replace",
    g(gcp("compute/resource_compute_disk_resource_policy_attachment.go"), 158, FORCE_NEW), "name (the policy) is ForceNew."),
  row("gcp:serviceaccount/account:Account", "displayName", "update",
    g(gcp("resourcemanager/resource_google_service_account.go"), 349, 'd.HasChange("display_name")'), "display_name is patched in Update."),
  row("gcp:serviceaccount/account:Account", "accountId", "replace",
    g(gcp("resourcemanager/resource_google_service_account.go"), 93, FORCE_NEW), "account_id is ForceNew."),
  row("gcp:secretmanager/secret:Secret", "replication", "replace", g(gcp("secretmanager/resource_secret_manager_secret.go"), 172, FORCE_NEW), "replication is ForceNew."),
  row("gcp:secretmanager/secret:Secret", "secretId", "replace", g(gcp("secretmanager/resource_secret_manager_secret.go"), 257, FORCE_NEW), "secret_id is ForceNew."),
  row("gcp:secretmanager/secretVersion:SecretVersion", "secretData", "replace",
    g(gcp("secretmanager/resource_secret_manager_secret_version.go"), 160, FORCE_NEW), "secret_data is ForceNew: a new value is a new version."),
  row("gcp:projects/iAMMember:IAMMember", "role", "replace", g("google-beta/tpgiamresource/resource_iam_member.go", 67, FORCE_NEW), "role is ForceNew."),
  row("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig", "monitoredResource", "replace",
    g(gcp("monitoring/resource_monitoring_uptime_check_config.go"), 385, FORCE_NEW), "monitored_resource is ForceNew."),
  row("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig", "checkerType", "replace",
    g(gcp("monitoring/resource_monitoring_uptime_check_config.go"), 167, FORCE_NEW), "checker_type is ForceNew."),

  row(DNS_RECORD, "zoneId", "replace", { ...CF, path: "internal/services/dns_record/schema.go", line: 47, expect: "stringplanmodifier.RequiresReplace()" },
    "zone_id is RequiresReplace."),
  row(DNS_RECORD, "type", "replace", { ...CF, path: "internal/services/dns_record/schema.go", line: 98, expect: "stringplanmodifier.RequiresReplace()" },
    "type is RequiresReplace: a record of another type is a new record."),
  row("cloudflare:index/zoneDnssec:ZoneDnssec", "zoneId", "replace",
    { ...CF, path: "internal/services/zone_dnssec/schema.go", line: 38, expect: "stringplanmodifier.RequiresReplace()" }, "zone_id is RequiresReplace."),

  row("tls:index/privateKey:PrivateKey", "algorithm", "replace", { ...TLS, line: 60, expect: "stringplanmodifier.RequiresReplace()" }, "algorithm is RequiresReplace."),
  row("tls:index/privateKey:PrivateKey", "rsaBits", "replace", { ...TLS, line: 75, expect: "int64planmodifier.RequiresReplace()" }, "rsa_bits is RequiresReplace."),
  row("tls:index/privateKey:PrivateKey", "ecdsaCurve", "replace", { ...TLS, line: 84, expect: "stringplanmodifier.RequiresReplace()" }, "ecdsa_curve is RequiresReplace."),

  row("command:remote:Command", "triggers", "replace", { ...COMMAND, line: 10, expect: 'provider:"replaceOnChanges"' },
    "triggers is the only replaceOnChanges input; any other change is an Update."),
  row("command:local:Command", "triggers", "replace", { ...COMMAND, line: 10, expect: 'provider:"replaceOnChanges"' },
    "triggers is the only replaceOnChanges input; any other change is an Update."),
];

/** GCE cannot shrink a disk: a smaller size forces a new (empty) disk. */
export const DISK_SHRINK: Citation = { ...g(DISK_GO, 460, 'customdiff.ForceNewIfChange("size", IsDiskShrinkage)'),
  claim: "A smaller gcp.compute.Disk size forces new (CustomizeDiff)." };

/** Why the rows inside boot_disk and network_interface do not inherit the block's ForceNew. */
export const BLOCK_FORCE_NEW: Citation = {
  repo: "hashicorp/terraform-plugin-sdk", tag: "v2.40.1", path: "helper/schema/schema.go", line: 1399, expect: "ForceNew: schema.ForceNew,",
  claim: "A list block's ForceNew is given only to its count (k.#); its elements' fields are diffed with their own schema (diffList).",
};

/**
 * Why a family keeps its VM when Google publishes a newer image of it, while another release replaces it: GCE
 * stores the image the disk was made from (debian-12-bookworm-v…), and the image's DiffSuppressFunc calls a
 * "{project}/{family}" value no change when that image's name contains the family (debian-12), so only a
 * family or image of another release reaches ForceNew. The lab's instance keeps the family as given, which
 * compares the same way for the families we accept (components/core/release.ts).
 */
export const IMAGE_FAMILY_SUPPRESS: Citation[] = [
  { ...g(INSTANCE_GO, 405, "DiffSuppressFunc: DiskImageDiffSuppress,"), claim: "initialize_params.image diffs through DiskImageDiffSuppress." },
  { ...g(DISK_GO, 185, "(diskImageEquals(oldName, newName) || diskImageFamilyEquals(oldName, newName))"),
    claim: "A {project}/{family} value is no change when the disk's image belongs to that family." },
  { ...g(DISK_GO, 220, "strings.Contains(imageName, strings.TrimSuffix(familyName, \"-amd64\"))"),
    claim: "An image belongs to a family when its name contains the family's name (debian-12-bookworm-v… and debian-12)." },
];

export const citations: Citation[] = [...DIFF_ROWS.map((r) => r.cite), DISK_SHRINK, BLOCK_FORCE_NEW, ...IMAGE_FAMILY_SUPPRESS];
