// The Google Cloud half of the mail server: its own network, address, firewall, service account, data disk with
// snapshots, the relay secret and the VM. It wires resources only; what to open and why lives in
// core/ports.ts.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { MailStackConfig } from "./core/config";
import { DATA_DISK_DEVICE } from "./core/layout";
import { isTestStack } from "./core/environments";
import { zoneMoveProblem } from "./core/zone-move";
import { globalNames, SNAPSHOT_STACK_LABEL, snapshotStackLabel, stackName } from "./core/names";
import { acmeHttpPorts, IAP_TCP_SOURCE_RANGE, MAIL_PORTS, rangesByFamily, WEB_PORTS } from "./core/ports";

export { stackName };

/** The stack's own subnet; the network is the stack's alone, so every stack can use the same range. */
export const SUBNET_RANGE = "10.10.0.0/24";
/**
 * Where the GCE guest agent publishes the VM's ED25519 host key: guest attribute `hostkeys/<type>`, value the
 * key's base64 (google-guest-agent instance_setup.go, writeGuestAttributes("hostkeys/"+vals[0], vals[1])).
 */
export const HOST_KEY_ATTRIBUTE = "hostkeys/ssh-ed25519";
/** The agent publishes the keys early in the first boot; until then the read finds nothing. Polled this long (5 s apart). */
const HOST_KEY_POLLS = 60;

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The VM's host key as its guest agent published it, in authorized_keys form ("ssh-ed25519 AAAA…").
 * The provider's read (terraform-provider-google google/services/compute/data_source_google_compute_instance_guest_attributes.go,
 * dataSourceGoogleComputeInstanceGuestAttributesRead) first GETs the instance: that failure (no such instance, a
 * wrong project or zone, no compute.instances.get) is an error, reported here at once. Then it calls
 * getGuestAttributes and drops any failure of that call (`if err != nil { return nil }`): a key not published
 * yet, guest attributes off, and a refused compute.instances.getGuestAttributes all come back as an empty
 * value, the one case polled.
 */
export async function publishedHostKey(name: string, zone: string, project: string): Promise<string> {
  for (let i = 1; ; i++) {
    const read = await gcp.compute.getInstanceGuestAttributes({ name, zone, project, variableKey: HOST_KEY_ATTRIBUTE }).catch((e: unknown) => {
      throw new Error(`reading the guest attribute ${HOST_KEY_ATTRIBUTE} of the VM ${name} (project ${project}, zone ${zone}) failed: ` +
        `${messageOf(e)} — check gcp:project and gcp:zone, and that the deploying identity may read the instance (compute.instances.get)`);
    });
    const value = read.variableValue?.trim();
    if (value) return `ssh-ed25519 ${value}`;
    if (i >= HOST_KEY_POLLS) {
      throw new Error(`the VM ${name} published no ${HOST_KEY_ATTRIBUTE} guest attribute within ${HOST_KEY_POLLS * 5} s, so its SSH ` +
        "host key cannot be pinned. The read comes back empty when the guest agent has not published it (is it running? see the " +
        "serial console), when the metadata enable-guest-attributes is not TRUE, and when the deploying identity lacks " +
        "compute.instances.getGuestAttributes (the provider reports that refusal as an empty value)");
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
}

/**
 * The key pinned for this instance, if the key published now is still that one; otherwise the deploy stops. The
 * guest attribute is writable from inside the VM, so a later change is never trusted by itself.
 */
export function checkPinnedHostKey(instance: string, pinned: string, published: string): string {
  if (pinned === published) return pinned;
  throw new Error(`the VM ${instance} now publishes the SSH host key ${published} (guest attribute ${HOST_KEY_ATTRIBUTE}), not ${pinned}, ` +
    "the key pinned when this instance was first deployed: the deploy stops before connecting. Someone overwrote the guest " +
    "attribute, or the VM's host key changed. Compare with the key the VM prints on its serial console " +
    "(gcloud compute instances get-serial-port-output); if the new key is genuine, pin it again with " +
    "pulumi up --replace <the URN of the pulumi:index:Stash named …-host-key (pulumi stack --show-urns)>");
}

/** What the VM's service account may do, and nothing more (plus reading the relay secret). */
export const SERVICE_ACCOUNT_ROLES = ["roles/logging.logWriter", "roles/monitoring.metricWriter"];

export interface MailHostArgs {
  config: MailStackConfig;
  /** The relay password: the hand-typed one, or the Mailgun credential's (secret). */
  relayPassword: pulumi.Input<string>;
  /** Called with the static IP before the VM is created; the VM waits for the resources it returns. */
  beforeInstance?: (ip: pulumi.Output<string>) => pulumi.Resource[];
}

export class MailHost extends pulumi.ComponentResource {
  public readonly ip: pulumi.Output<string>;
  public readonly instance: gcp.compute.Instance;
  public readonly dataDisk: gcp.compute.Disk;
  public readonly deployKey: tls.PrivateKey;
  public readonly relaySecretName: pulumi.Output<string>;
  /** The VM's SSH host key ("ssh-ed25519 AAAA…"), as pinned for this instance: every remote command pins it. */
  public readonly hostKey: pulumi.Output<string>;
  /** The relay password's current version (projects/…/secrets/…/versions/N), which the VM reads at apply time. */
  public readonly relaySecretVersion: pulumi.Output<string>;
  /** Settles once the data disk's zone is known; rejects when the config moves the VM away from it (core/zone-move.ts). */
  public readonly zoneChecked: Promise<void>;

  constructor(name: string, args: MailHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailserver:index:MailHost", name, {}, opts);
    const c = args.config;
    const parent = { parent: this };
    // Data and the address survive a mistaken `pulumi destroy` in production.
    const keep = { parent: this, protect: c.protectData };
    // Names GCP keeps project-wide carry the stack (core/names.ts), so stacks in one project never collide.
    const names = globalNames(name, pulumi.getStack());
    const tag = names.tag;
    // Explicit names: a replacement would collide with the old rule of the same name, so delete it first.
    const rule = { parent: this, deleteBeforeReplace: true };

    // `description` is force-new on Address and Disk (terraform-provider-google:
    // google/services/compute/resource_compute_address.go, resource_compute_disk.go): it must not hold
    // anything that a config change touches, such as the hostname.
    const address = new gcp.compute.Address(`${name}-ip`, {
      region: c.gcp.region,
      addressType: "EXTERNAL",
      networkTier: "PREMIUM",
      description: "Public address of the mail server",
    }, keep);
    this.ip = address.address;

    // The stack's own network: the `default` network carries default-allow-ssh (22 from everywhere), while
    // a custom-mode network has only the implied rules (ingress denied, egress allowed), so the rules
    // below are all there is.
    const network = new gcp.compute.Network(`${name}-net`, {
      name: names.network,
      autoCreateSubnetworks: false,
      routingMode: "REGIONAL",
      description: "Mail server network",
    }, parent);
    const subnet = new gcp.compute.Subnetwork(`${name}-subnet`, {
      name: names.subnet,
      region: c.gcp.region,
      network: network.id,
      ipCidrRange: SUBNET_RANGE,
      description: "Mail server subnet",
    }, parent);

    new gcp.compute.Firewall(`${name}-mail`, {
      name: names.firewall.mail,
      network: network.id,
      direction: "INGRESS",
      description: "Inbound mail (25), client ports (465, 587, 993, 995, 4190), HTTPS for MTA-STS and autoconfig (443)",
      allows: [{ protocol: "tcp", ports: [...MAIL_PORTS, ...WEB_PORTS].map(String) }],
      sourceRanges: ["0.0.0.0/0"],
      targetTags: [tag],
    }, rule);
    // One rule per address family (GCE refuses both in one rule), each only when it has ranges: a rule without
    // sourceRanges would admit every source. The IPv4 rule keeps the name it always had.
    const admins = rangesByFamily(c.sshSourceRanges);
    for (const [suffix, ruleName, ranges] of [["ssh", names.firewall.ssh, admins.v4], ["ssh-v6", names.firewall.sshV6, admins.v6]] as const) {
      if (ranges.length === 0) continue;
      new gcp.compute.Firewall(`${name}-${suffix}`, {
        name: ruleName,
        network: network.id,
        direction: "INGRESS",
        description: "SSH from the admin ranges only",
        allows: [{ protocol: "tcp", ports: ["22"] }],
        sourceRanges: ranges,
        targetTags: [tag],
      }, rule);
    }
    if (c.sshViaIap) {
      // Deploys from anywhere (CI runners included) without SSH open to their addresses: IAP forwards TCP
      // from this fixed range after checking the caller's IAM role (see docs/environments.md, "Reaching the VM from CI").
      new gcp.compute.Firewall(`${name}-iap-ssh`, {
        name: names.firewall.iapSsh,
        network: network.id,
        direction: "INGRESS",
        description: "SSH through Identity-Aware Proxy TCP forwarding",
        allows: [{ protocol: "tcp", ports: ["22"] }],
        sourceRanges: [IAP_TCP_SOURCE_RANGE],
        targetTags: [tag],
      }, rule);
    }
    const acmePorts = acmeHttpPorts(c.tls);
    if (acmePorts.length > 0) {
      // ACME HTTP-01 needs port 80 for issuance and every renewal; nothing listens there in between
      // (certbot runs its own listener only while it validates).
      new gcp.compute.Firewall(`${name}-acme-http`, {
        name: names.firewall.acmeHttp,
        network: network.id,
        direction: "INGRESS",
        description: "ACME HTTP-01 validation (certbot standalone, only while it runs)",
        allows: [{ protocol: "tcp", ports: acmePorts.map(String) }],
        sourceRanges: ["0.0.0.0/0"],
        targetTags: [tag],
      }, rule);
    }

    const account = new gcp.serviceaccount.Account(`${name}-sa`, {
      accountId: names.serviceAccount,
      displayName: `Mail server ${c.hostname}`,
    }, parent);
    const member = pulumi.interpolate`serviceAccount:${account.email}`;
    for (const role of SERVICE_ACCOUNT_ROLES) {
      new gcp.projects.IAMMember(`${name}-sa-${role.split("/")[1].replace(/\./g, "-")}`, {
        project: c.gcp.project,
        role,
        member,
      }, parent);
    }

    // The relay password lives in Secret Manager, readable by the VM's account alone.
    const secret = new gcp.secretmanager.Secret(`${name}-relay-password`, {
      secretId: names.relaySecret,
      replication: { auto: {} },
    }, parent);
    // secret_data is ForceNew (resource_secret_manager_secret_version.go): a new password is a new version,
    // created before the old one is destroyed, and its name re-runs the apply that reads it.
    const version = new gcp.secretmanager.SecretVersion(`${name}-relay-password`, {
      secret: secret.id,
      secretData: pulumi.secret(args.relayPassword),
    }, parent);
    this.relaySecretVersion = version.name;
    new gcp.secretmanager.SecretIamMember(`${name}-relay-password-reader`, {
      secretId: secret.secretId,
      role: "roles/secretmanager.secretAccessor",
      member,
    }, parent);
    this.relaySecretName = secret.name;

    // A larger size grows the disk in place and MailPush's grow step grows the filesystem online. A smaller
    // one would replace the disk, i.e. an empty one (ForceNewIfChange("size", IsDiskShrinkage) in
    // terraform-provider-google google/services/compute/resource_compute_disk.go): production's protect
    // refuses that; shrinking means a new disk and copying the mail over by hand.
    // A restore (docs/operations.md, "Backups and restore") sets dataDiskSnapshot: `snapshot` is ForceNew, so the disk is
    // replaced by one made from the snapshot (created first; the VM is replaced with it, see the instance; then the
    // old one deleted). Production's protect refuses the disk's replacement at preview: a restore there unprotects
    // first (docs/operations.md).
    // Removing the key later must not replace the restored disk with an empty one: without the key the old value
    // is kept (ignoreChanges).
    // `zone` is ForceNew too, and GCE cannot move a disk: a new zone alone would make an empty disk there and
    // delete the full one. Without a snapshot to make the new disk from, the disk keeps its zone (ignoreChanges,
    // so its `zone` output is where it really is), and the VM stays with it (its zone is the disk's).
    this.dataDisk = new gcp.compute.Disk(`${name}-data`, {
      zone: c.gcp.zone,
      type: "pd-balanced",
      size: c.dataDiskSizeGb,
      description: "Mailboxes of the mail server",
      ...(c.dataDiskSnapshot ? { snapshot: c.dataDiskSnapshot } : {}),
    }, { ...keep, ignoreChanges: c.dataDiskSnapshot ? [] : ["snapshot", "zone"] });
    // Where the disk is decides where the VM is: a zone change without a snapshot changes nothing, and the program
    // stops with the way to move (core/zone-move.ts), at preview already (an unchanged disk's outputs are known
    // there). Not thrown inside the apply: every resource downstream of the VM would fail with it.
    this.zoneChecked = new Promise<void>((resolve, reject) => {
      this.dataDisk.zone.apply((zone) => {
        const problem = zoneMoveProblem(zone, c);
        if (problem) reject(new Error(problem));
        else resolve();
      });
    });
    const snapshots = new gcp.compute.ResourcePolicy(`${name}-snapshots`, {
      name: names.snapshotPolicy,
      region: c.gcp.region,
      description: "Daily snapshots of the mail data disk",
      snapshotSchedulePolicy: {
        schedule: { dailySchedule: { daysInCycle: 1, startTime: "03:00" } },
        // KEEP_AUTO_SNAPSHOTS (the API's default): once the disk is deleted its scheduled snapshots are kept
        // for good, outside any retention; APPLY_RETENTION_POLICY: they still expire after maxRetentionDays.
        // Production keeps its last backups after a mistaken delete; a destroyed test stack's expire, and
        // `npm run test-stack -- destroy` deletes them at once by the stack label.
        retentionPolicy: {
          maxRetentionDays: c.snapshotRetentionDays,
          onSourceDiskDelete: isTestStack(pulumi.getStack()) ? "APPLY_RETENTION_POLICY" : "KEEP_AUTO_SNAPSHOTS",
        },
        // A multi-region location: the backups survive the loss of the disk's region (core/config.ts).
        snapshotProperties: {
          guestFlush: false,
          storageLocations: c.snapshotLocation,
          labels: { role: DATA_DISK_DEVICE, [SNAPSHOT_STACK_LABEL]: snapshotStackLabel(pulumi.getStack()) },
        },
      },
    }, rule);
    // A disk takes one snapshot schedule at a time: a new policy's attachment can only follow the old one's.
    new gcp.compute.DiskResourcePolicyAttachment(`${name}-data-snapshots`, {
      disk: this.dataDisk.name,
      zone: this.dataDisk.zone,
      name: snapshots.name,
    }, rule);

    this.deployKey = new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, parent);

    this.instance = new gcp.compute.Instance(`${name}-vm`, {
      zone: this.dataDisk.zone,
      machineType: c.machineType,
      tags: [tag],
      // A new size resizes the boot disk on the running VM (upstream/diff-table.ts); the type replaces the VM.
      bootDisk: { initializeParams: { image: c.image, size: c.bootDiskSizeGb, type: "pd-balanced" } },
      attachedDisks: [{ source: this.dataDisk.id, deviceName: DATA_DISK_DEVICE, mode: "READ_WRITE" }],
      networkInterfaces: [{
        network: network.id,
        subnetwork: subnet.id,
        accessConfigs: [{
          natIp: address.address,
          networkTier: "PREMIUM",
          ...(c.ptr ? { publicPtrDomainName: `${c.hostname}.` } : {}),
        }],
      }],
      metadata: {
        // The guest agent creates this user with passwordless sudo; root login stays closed.
        "ssh-keys": pulumi.interpolate`${c.deployUser}:${this.deployKey.publicKeyOpenssh.apply((k) => k.trim())} ${c.deployUser}`,
        "block-project-ssh-keys": "TRUE",
        "enable-oslogin": "FALSE",
        // The guest agent publishes the host keys as guest attributes only where these are enabled.
        "enable-guest-attributes": "TRUE",
      },
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      serviceAccount: { email: account.email, scopes: ["cloud-platform"] },
      allowStoppingForUpdate: true,
      // No deletion protection, in production too: the VM holds nothing the data disk and the address (both
      // `protect`ed) do not, and GCE refuses to delete a protected instance (upstream/pulumi-engine.ts
      // INSTANCE_DELETION_PROTECTION), which made every VM replacement (the move to Debian 13) three deploys, with
      // the data disk unprotected in between. A stack whose VM still has it loses it in place at its next deploy.
      deletionProtection: false,
    }, {
      parent: this,
      dependsOn: args.beforeInstance?.(address.address) ?? [],
      // The new VM asks for the same static IP and the same READ_WRITE data disk, which GCE gives to one
      // instance at a time; the engine creates the replacement first unless told otherwise.
      deleteBeforeReplace: true,
      // Another Debian release replaces the VM (the image is ForceNew), and the data disk, the address and the
      // queue on it go to the new one: the move from 12 to 13 (README). A newer image of the same family is no
      // change (upstream/diff-table.ts IMAGE_FAMILY_SUPPRESS), so Google's monthly images never replace it.
      // A new data disk (a restore, a smaller size) replaces the VM. Updated in place, GCE would detach the old disk
      // from the running VM (terraform-provider-google resource_compute_instance.go: detachDisk, then attachDisk, no
      // stop) while Postfix and Dovecot still use it; deleting the VM shuts the guest down first (systemd stops the
      // daemons and unmounts /srv/mail), and the new VM boots with the new disk, which MailPush provisions.
      replaceOnChanges: ["attachedDisks"],
    });

    // Pinned once per instance: pulumi.Stash keeps the first value it is given as its `output` and ignores later
    // ones (pulumi/pulumi pkg/resource/deploy/builtins.go: Create sets output to the input, Update keeps the old
    // output), and replacementTrigger replaces it, pinning again, only for a new instance (its unique
    // instanceId; a new VM has new host keys). Every deploy still reads the published key and stops if it differs.
    // Pulumi-command 1.x pins connection.hostKey with ssh.FixedHostKey (provider/pkg/provider/remote/connection.go);
    // without it any key is accepted.
    const published = pulumi.all([this.instance.name, this.instance.zone, this.instance.instanceId])
      .apply(([instanceName, zone]) => publishedHostKey(instanceName, zone, c.gcp.project));
    const pin = new pulumi.Stash(`${name}-host-key`, { input: published }, { parent: this, replacementTrigger: this.instance.instanceId });
    this.hostKey = pulumi.all([this.instance.name, pin.output as pulumi.Output<unknown>, published])
      .apply(([instanceName, pinned, now]) => checkPinnedHostKey(instanceName, String(pinned), now));

    this.registerOutputs({ ip: this.ip });
  }
}
