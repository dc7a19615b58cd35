// The Google Cloud half of the mail server: address, firewall, service account, data disk with
// snapshots, the relay secret and the VM. It wires resources only; what to open and why lives in
// core/ports.ts.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { MailStackConfig } from "./core/config";
import { DATA_DISK_DEVICE } from "./core/layout";
import { acmeHttpPorts, MAIL_PORTS } from "./core/ports";

/** Network tag that the firewall rules target. */
export const NETWORK_TAG = "mailserver";
/** What the VM's service account may do, and nothing more (plus reading the relay secret). */
export const SERVICE_ACCOUNT_ROLES = ["roles/logging.logWriter", "roles/monitoring.metricWriter"];

export interface MailHostArgs {
  config: MailStackConfig;
  /** Called with the static IP before the VM is created; the VM waits for the resources it returns. */
  beforeInstance?: (ip: pulumi.Output<string>) => pulumi.Resource[];
}

export class MailHost extends pulumi.ComponentResource {
  public readonly ip: pulumi.Output<string>;
  public readonly instance: gcp.compute.Instance;
  public readonly dataDisk: gcp.compute.Disk;
  public readonly deployKey: tls.PrivateKey;
  public readonly relaySecretName: pulumi.Output<string>;

  constructor(name: string, args: MailHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailserver:index:MailHost", name, {}, opts);
    const c = args.config;
    const parent = { parent: this };
    // Data and the address survive a mistaken `pulumi destroy` in production.
    const keep = { parent: this, protect: c.protectData };

    const address = new gcp.compute.Address(`${name}-ip`, {
      region: c.gcp.region,
      addressType: "EXTERNAL",
      networkTier: "PREMIUM",
      description: `Public address of ${c.hostname}`,
    }, keep);
    this.ip = address.address;

    new gcp.compute.Firewall(`${name}-mail`, {
      network: "default",
      direction: "INGRESS",
      description: "Inbound mail (25) and client ports (465, 587, 993, 995)",
      allows: [{ protocol: "tcp", ports: MAIL_PORTS.map(String) }],
      sourceRanges: ["0.0.0.0/0"],
      targetTags: [NETWORK_TAG],
    }, parent);
    new gcp.compute.Firewall(`${name}-ssh`, {
      network: "default",
      direction: "INGRESS",
      description: "SSH from the admin ranges only",
      allows: [{ protocol: "tcp", ports: ["22"] }],
      sourceRanges: c.sshSourceRanges,
      targetTags: [NETWORK_TAG],
    }, parent);
    const acmePorts = acmeHttpPorts(c.tls);
    if (acmePorts.length > 0) {
      // ACME HTTP-01 needs port 80 for issuance and every renewal; nothing listens there in between
      // (certbot runs its own listener only while it validates).
      new gcp.compute.Firewall(`${name}-acme-http`, {
        network: "default",
        direction: "INGRESS",
        description: "ACME HTTP-01 validation (certbot standalone, only while it runs)",
        allows: [{ protocol: "tcp", ports: acmePorts.map(String) }],
        sourceRanges: ["0.0.0.0/0"],
        targetTags: [NETWORK_TAG],
      }, parent);
    }

    const account = new gcp.serviceaccount.Account(`${name}-sa`, {
      accountId: `${name}-mailserver`.slice(0, 30),
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
      secretId: `${name}-relay-password`,
      replication: { auto: {} },
    }, parent);
    new gcp.secretmanager.SecretVersion(`${name}-relay-password`, {
      secret: secret.id,
      secretData: pulumi.secret(c.relay.password),
    }, parent);
    new gcp.secretmanager.SecretIamMember(`${name}-relay-password-reader`, {
      secretId: secret.secretId,
      role: "roles/secretmanager.secretAccessor",
      member,
    }, parent);
    this.relaySecretName = secret.name;

    this.dataDisk = new gcp.compute.Disk(`${name}-data`, {
      zone: c.gcp.zone,
      type: "pd-balanced",
      size: c.dataDiskSizeGb,
      description: `Mailboxes of ${c.hostname}`,
    }, keep);
    const snapshots = new gcp.compute.ResourcePolicy(`${name}-snapshots`, {
      region: c.gcp.region,
      description: "Daily snapshots of the mail data disk",
      snapshotSchedulePolicy: {
        schedule: { dailySchedule: { daysInCycle: 1, startTime: "03:00" } },
        retentionPolicy: {
          maxRetentionDays: c.snapshotRetentionDays,
          onSourceDiskDelete: "KEEP_AUTO_SNAPSHOTS",
        },
        snapshotProperties: { guestFlush: false, labels: { role: DATA_DISK_DEVICE } },
      },
    }, parent);
    new gcp.compute.DiskResourcePolicyAttachment(`${name}-data-snapshots`, {
      disk: this.dataDisk.name,
      zone: c.gcp.zone,
      name: snapshots.name,
    }, parent);

    this.deployKey = new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, parent);

    this.instance = new gcp.compute.Instance(`${name}-vm`, {
      zone: c.gcp.zone,
      machineType: c.machineType,
      tags: [NETWORK_TAG],
      bootDisk: { initializeParams: { image: c.image, size: 10, type: "pd-balanced" } },
      attachedDisks: [{ source: this.dataDisk.id, deviceName: DATA_DISK_DEVICE, mode: "READ_WRITE" }],
      networkInterfaces: [{
        network: "default",
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
      },
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      serviceAccount: { email: account.email, scopes: ["cloud-platform"] },
      allowStoppingForUpdate: true,
      deletionProtection: c.protectData,
    }, {
      parent: this,
      dependsOn: args.beforeInstance?.(address.address) ?? [],
      // The data disk is attached, never recreated with the VM; a new image does not replace a running VM.
      ignoreChanges: ["bootDisk.initializeParams.image"],
    });

    this.registerOutputs({ ip: this.ip });
  }
}
