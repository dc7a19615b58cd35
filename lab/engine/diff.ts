// The engine's and the providers' diff rules for the resource types this program uses: given a resource's
// stored inputs and outputs and its new inputs, what `pulumi up` would do. The per-field rules are the
// cited rows of upstream/diff-table.ts. Pure: no I/O, no Pulumi import.
import { DIFF_ROWS } from "../../upstream/diff-table";

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
 * Per type, what a change at an input path that has no row in upstream/diff-table.ts does: "replace" for
 * schemas where every other field is ForceNew, "update" where no other field forces new. Read from the
 * whole file at the table's tag (an absence has no line to cite); the rows carry the cited exceptions.
 */
export interface TypeRule { otherwise: "replace" | "update"; source: string }

const TPGB = "hashicorp/terraform-provider-google-beta@v7.45.0 google-beta/services";
export const RULES: Record<string, TypeRule> = {
  "tls:index/privateKey:PrivateKey": { otherwise: "replace", source: "hashicorp/terraform-provider-tls@v4.2.1 internal/provider/resource_private_key.go" },
  "gcp:compute/address:Address": { otherwise: "replace", source: `${TPGB}/compute/resource_compute_address.go` },
  "gcp:compute/disk:Disk": { otherwise: "replace", source: `${TPGB}/compute/resource_compute_disk.go` },
  "gcp:compute/network:Network": { otherwise: "update", source: `${TPGB}/compute/resource_compute_network.go` },
  "gcp:compute/subnetwork:Subnetwork": { otherwise: "update", source: `${TPGB}/compute/resource_compute_subnetwork.go` },
  "gcp:compute/firewall:Firewall": { otherwise: "update", source: `${TPGB}/compute/resource_compute_firewall.go` },
  "gcp:compute/resourcePolicy:ResourcePolicy": { otherwise: "update", source: `${TPGB}/compute/resource_compute_resource_policy.go` },
  "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment": {
    otherwise: "replace", source: `${TPGB}/compute/resource_compute_disk_resource_policy_attachment.go`,
  },
  "gcp:compute/instance:Instance": { otherwise: "update", source: `${TPGB}/compute/resource_compute_instance.go` },
  "gcp:serviceaccount/account:Account": { otherwise: "replace", source: `${TPGB}/resourcemanager/resource_google_service_account.go` },
  "gcp:projects/iAMMember:IAMMember": { otherwise: "replace", source: "hashicorp/terraform-provider-google-beta@v7.45.0 google-beta/tpgiamresource/resource_iam_member.go" },
  "gcp:secretmanager/secretIamMember:SecretIamMember": {
    otherwise: "replace", source: "hashicorp/terraform-provider-google-beta@v7.45.0 google-beta/tpgiamresource/resource_iam_member.go",
  },
  "gcp:secretmanager/secret:Secret": { otherwise: "update", source: `${TPGB}/secretmanager/resource_secret_manager_secret.go` },
  "gcp:secretmanager/secretVersion:SecretVersion": { otherwise: "replace", source: `${TPGB}/secretmanager/resource_secret_manager_secret_version.go` },
  "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": { otherwise: "update", source: `${TPGB}/monitoring/resource_monitoring_uptime_check_config.go` },
  "gcp:monitoring/alertPolicy:AlertPolicy": { otherwise: "update", source: `${TPGB}/monitoring/resource_monitoring_alert_policy.go` },
  "gcp:monitoring/notificationChannel:NotificationChannel": { otherwise: "update", source: `${TPGB}/monitoring/resource_monitoring_notification_channel.go` },
  "cloudflare:index/dnsRecord:DnsRecord": { otherwise: "update", source: "cloudflare/terraform-provider-cloudflare@v5.19.1 internal/services/dns_record/schema.go" },
  "cloudflare:index/zoneDnssec:ZoneDnssec": { otherwise: "update", source: "cloudflare/terraform-provider-cloudflare@v5.19.1 internal/services/zone_dnssec/schema.go" },
  "command:remote:Command": { otherwise: "update", source: "pulumi/pulumi-command@v1.2.1 provider/pkg/provider/common/inputs.go" },
  "command:local:Command": { otherwise: "update", source: "pulumi/pulumi-command@v1.2.1 provider/pkg/provider/common/inputs.go" },
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

/** GCE cannot shrink a disk: a smaller size forces new (upstream/diff-table.ts DISK_SHRINK). */
function sizeShrinks(type: string, olds: Inputs, news: Inputs): boolean {
  return type === "gcp:compute/disk:Disk" && typeof olds.size === "number" && typeof news.size === "number" && news.size < olds.size;
}

/** The rule for one changed path: the most specific row of the table, else the type's default. */
export function ruleFor(type: string, path: string): "replace" | "update" {
  const rows = DIFF_ROWS.filter((r) => r.type === type && r.rule !== "unordered" && under(path, r.path));
  const best = rows.sort((a, b) => b.path.split(".").length - a.path.split(".").length)[0];
  if (best) return best.rule === "replace" ? "replace" : "update";
  // A type the table does not know: the provider's default Diff updates (pulumi/pulumi pkg/resource/plugin/provider.go).
  return RULES[type]?.otherwise ?? "update";
}

/** Set-typed inputs (TypeSet) compare order-free: each is sorted by its JSON before diffing. */
export function withSetsSorted(type: string, v: Inputs): Inputs {
  let out = v;
  for (const r of DIFF_ROWS.filter((x) => x.type === type && x.rule === "unordered")) {
    const keys = r.path.split(".");
    const cur = keys.reduce<unknown>((x, k) => (isObject(x) ? x[k] : undefined), out);
    if (Array.isArray(cur)) out = setPath(out, keys, [...cur].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
  }
  return out;
}

/** Paths of secret values that are secret on one side only: a change of secretness alone is a change. */
export function secretnessChanged(olds: string[], news: string[]): string[] {
  return [...olds.filter((p) => !news.includes(p)), ...news.filter((p) => !olds.includes(p))].sort();
}

/**
 * What a bridged provider (gcp, cloudflare, tls) diffs the new inputs against: the old outputs, i.e. the
 * state (the engine sends OldOutputs as the Diff request's olds, and pulumi-terraform-bridge builds the
 * Terraform state from them: upstream/pulumi-engine.ts). A value the old inputs did not set was computed
 * by the provider (Optional + Computed): leaving it unset is no change. Other providers diff old inputs.
 */
export function diffBase(type: string, oldInputs: Inputs, oldOutputs: Inputs, news: Inputs): Inputs {
  if (!BRIDGED.some((p) => type.startsWith(p))) return oldInputs;
  const merged: Inputs = {};
  for (const k of new Set([...Object.keys(oldInputs), ...Object.keys(news)])) {
    merged[k] = k in oldOutputs ? oldOutputs[k] : oldInputs[k];
  }
  return dropComputed(merged, oldInputs, news) as Inputs;
}
const BRIDGED = ["gcp:", "cloudflare:", "tls:"];

function dropComputed(state: unknown, oldInput: unknown, news: unknown): unknown {
  if (Array.isArray(state)) {
    return state.map((x, i) => dropComputed(x, Array.isArray(oldInput) ? oldInput[i] : undefined, Array.isArray(news) ? news[i] : undefined));
  }
  if (!isObject(state)) return state;
  const out: Inputs = {};
  for (const [k, v] of Object.entries(state)) {
    const o = isObject(oldInput) ? oldInput[k] : undefined;
    const n = isObject(news) ? news[k] : undefined;
    if (o === undefined && n === undefined) continue;
    out[k] = dropComputed(v, o, n);
  }
  return out;
}

/** The stored side of a diff: the resource's inputs and outputs, and which input paths hold secrets. */
export interface Olds { inputs: Inputs; outputs: Inputs; secrets?: string[] }

/**
 * What the engine does with a registered resource, given what the state holds for it (undefined: nothing).
 * `news` are the inputs after ignoreChanges (see withIgnored); `secrets` the paths of its secret values.
 */
export function diffState(type: string, old: Olds | undefined, news: Inputs, opts: DiffOptions, secrets: string[] = []): Diff {
  if (old === undefined) return { op: "create", changed: [], replaceBecause: [] };
  const base = withSetsSorted(type, diffBase(type, old.inputs, old.outputs, news));
  const changed = [...new Set([...changedPaths(base, withSetsSorted(type, withIgnored(old.inputs, news, opts.ignoreChanges))),
    // A state written before secrets were recorded has no list: its secretness counts as unchanged.
    ...secretnessChanged(old.secrets ?? secrets, secrets)])];
  if (changed.length === 0) return { op: "same", changed, replaceBecause: [] };
  const replaceBecause = changed.filter((c) => ruleFor(type, c) === "replace" || opts.replaceOnChanges.some((r) => under(c, r)));
  if (sizeShrinks(type, old.inputs, news)) replaceBecause.push("size");
  return { op: replaceBecause.length > 0 ? "replace" : "update", changed, replaceBecause };
}

/** diffState for a resource whose stored outputs are its inputs and which holds no secret. */
export function diffResource(type: string, olds: Inputs | undefined, news: Inputs, opts: DiffOptions): Diff {
  return diffState(type, olds && { inputs: olds, outputs: olds }, news, opts);
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
