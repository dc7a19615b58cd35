// MailServer: the whole stack for one environment. Composes the host, the DKIM keys, DNS and the push;
// all mail knowledge comes from the pure core.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { DEFAULT_DKIM_SELECTOR, MailStackConfig } from "./core/config";
import { dkimPublicKeyBase64, dkimSelectors } from "./core/dkim";
import { clientSettings, ClientSettings, sshEndpoint } from "./core/ports";
import { renderProvisionScript, tlsSettings } from "./core/provision";
import { spkiSha256, tlsKeyNames } from "./core/dane";
import { MailDane } from "./dane";
import type { RenderedFile } from "./core/files";
import { dkimKeyFileSpec, renderDkimKeyFile } from "./core/render";
import { MailDns } from "./dns";
import { MailHost } from "./host";
import { MailgunSending } from "./mailgun";
import { MailMonitoring } from "./monitoring";
import { MailPush, PushFile } from "./push";

export interface MailServerArgs {
  config: MailStackConfig;
  /** Every file but the DKIM keys, rendered from the same config (renderConfigFiles); the keys are added here. */
  files: RenderedFile[];
}

/**
 * The resource name of a domain's DKIM key for a selector: a new selector is a new key. The default
 * selector keeps the name keys had before selectors were part of it, so existing stacks keep their key.
 */
function dkimKeyName(name: string, domain: string, selector: string): string {
  return selector === DEFAULT_DKIM_SELECTOR ? `${name}-dkim-${domain}` : `${name}-dkim-${selector}._domainkey.${domain}`;
}

export class MailServer extends pulumi.ComponentResource {
  public readonly ip: pulumi.Output<string>;
  public readonly hostname: string;
  public readonly sshCommand: pulumi.Output<string>;
  /** Secret: the key admins use with sshCommand. */
  public readonly deployPrivateKey: pulumi.Output<string>;
  public readonly clientSettings: ClientSettings;
  public readonly dnsRecords: pulumi.Output<{ zone: string; name: string; type: string }[]>;
  public readonly applied: pulumi.Output<string>;
  /** Rejects when the config would move the VM away from its data disk's zone (components/host.ts). */
  public readonly zoneChecked: Promise<void>;
  /** The VM's SSH host key, for admins' known_hosts. */
  public readonly sshHostKey: pulumi.Output<string>;
  /** Domain → the DS record to give the registrar (mailserver:dnssec). */
  public readonly dnssecDs: pulumi.Output<Record<string, string>>;
  /** The TLSA records of _25._tcp.<hostname> ("3 1 1 <hex>"; none without mailserver:dnssec). */
  public readonly tlsaRecords: pulumi.Output<string[]>;

  constructor(name: string, args: MailServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailserver:index:MailServer", name, {}, opts);
    const c = args.config;
    const parent = { parent: this };

    // One DKIM key per domain and selector: a leaked or rotated key affects one domain only. Retired
    // selectors keep their keys (and so their records) until the admin drops them from the config.
    const dkimKeys = Object.fromEntries(c.domains.map((d) => [d.name, Object.fromEntries(dkimSelectors(c).map((s) =>
      [s, new tls.PrivateKey(dkimKeyName(name, d.name, s), { algorithm: "RSA", rsaBits: 2048 }, parent)]))]));

    const dkimPublicKeys = Object.fromEntries(Object.entries(dkimKeys).map(([d, bySelector]) => [d, Object.fromEntries(
      Object.entries(bySelector).map(([s, k]) => [s, k.publicKeyPem.apply(dkimPublicKeyBase64)]))]));
    // The TLS keys, one per name (core/dane.ts explains why the stack and not the server makes them): the
    // serving one and, during a rollover, the next. P-256, as certbot makes by default. Kept in the state, so a
    // new VM serves the same key and the TLSA record stays true.
    const tlsKeys = Object.fromEntries(tlsKeyNames(c).map((k) =>
      [k, new tls.PrivateKey(`${name}-tls-${k}`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, parent)]));
    const spkiHashes = Object.fromEntries(Object.entries(tlsKeys).map(([k, key]) => [k, key.publicKeyPem.apply(spkiSha256)]));
    const dane = new MailDane(name, { config: c, spkiHashes }, parent);

    // With a Mailgun API key the stack makes the sending domain and the credential; else the password was typed in.
    const mailgun = c.relay.mailgun ? new MailgunSending(name, { config: c, settings: c.relay.mailgun }, parent) : undefined;
    const relayPassword = mailgun?.password ?? c.relay.password;
    if (relayPassword === undefined) throw new Error("MailServer: no relay password (config.ts requires one mode)");

    let dns: MailDns | undefined;
    const host = new MailHost(name, {
      config: c,
      relayPassword,
      // DNS needs the address; with ptr the VM needs the A record first (GCP checks the forward record).
      beforeInstance: (ip) => {
        dns = new MailDns(name, { config: c, ip, dkimPublicKeys }, parent);
        return c.ptr ? [dns.aRecord] : [];
      },
    }, parent);
    if (!dns) throw new Error("MailHost did not create the DNS records");

    // Only the current selector signs, and only the key files are computed from the keys (secret outputs
    // of the tls provider): the other files stay plain, so that a preview shows their diff.
    const keyFiles: PushFile[] = c.domains.map((d) => ({
      ...dkimKeyFileSpec(c, d.name),
      content: dkimKeys[d.name][c.dkimSelector].privateKeyPem.apply((pem) => renderDkimKeyFile(c, d.name, pem).content),
    }));

    // With sshViaIap every deploy (CI or an admin's machine) goes through the tunnel, so the connection
    // inputs, and with them the commands, stay the same whoever deploys.
    const endpoint = host.ip.apply((ip) => sshEndpoint(c, ip));
    const push = new MailPush(`${name}`, {
      host: endpoint.host,
      port: sshEndpoint(c, "").port,
      user: c.deployUser,
      privateKey: host.deployKey.privateKeyOpenssh,
      hostKey: host.hostKey,
      instanceId: host.instance.id,
      relaySecretVersion: host.relaySecretVersion,
      provisionScript: renderProvisionScript(c),
      files: [...args.files, ...keyFiles],
      dataDiskSizeGb: c.dataDiskSizeGb,
      bootDiskSizeGb: host.instance.bootDisk.initializeParams.size,
      dataDiskId: host.dataDisk.id,
      tls: { keyName: c.tlsKey, privateKeyPem: tlsKeys[c.tlsKey].privateKeyPem, spkiSha256: spkiHashes[c.tlsKey], settings: tlsSettings(c) },
      // ACME validation needs the A record; mail needs the disk; signing with a new DKIM key needs its record.
      // A key serves only once its TLSA record exists.
      // Mail relays through a Mailgun domain once Mailgun has verified it.
      provisionDependsOn: [dns.aRecord, ...dns.webRecords, host.dataDisk, ...dns.dkimRecords, ...dane.tlsaRecords,
        ...(mailgun ? [mailgun.verification] : [])],
    }, parent);

    // Alerts need an address outside this server; without one nothing is created (docs/operations.md, "Alerts").
    if (c.alertEmail) {
      new MailMonitoring(name, { project: c.gcp.project, hostname: c.hostname, ip: host.ip, alertEmail: c.alertEmail }, parent);
    }

    this.ip = host.ip;
    this.hostname = c.hostname;
    this.deployPrivateKey = pulumi.secret(host.deployKey.privateKeyOpenssh);
    // The host key the deploy pinned goes into a known_hosts of its own: no trust on first use.
    const fetchKeys = (knownAs: string) => "(umask 077; pulumi stack output --show-secrets deployPrivateKey > deploy_key; " +
      `echo "${knownAs} $(pulumi stack output sshHostKey)" > known_hosts)`;
    const ssh = "ssh -i deploy_key -o UserKnownHostsFile=known_hosts -o StrictHostKeyChecking=yes";
    this.sshCommand = c.sshViaIap
      ? pulumi.output(`${fetchKeys(`[127.0.0.1]:${c.iapTunnelPort}`)} && ${ssh} -p ${c.iapTunnelPort} ${c.deployUser}@127.0.0.1   # with scripts/iap-tunnel.sh running`)
      : host.ip.apply((ip) => `${fetchKeys(ip)} && ${ssh} ${c.deployUser}@${ip}`);
    this.clientSettings = clientSettings(c.hostname);
    this.dnsRecords = dns.records;
    this.applied = push.applied;
    this.zoneChecked = host.zoneChecked;
    this.sshHostKey = host.hostKey;
    this.dnssecDs = dane.ds;
    this.tlsaRecords = dane.tlsa;
    this.registerOutputs({ ip: this.ip, sshCommand: this.sshCommand, dnsRecords: this.dnsRecords });
  }
}
