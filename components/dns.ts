// Cloudflare records from the records plan: one DnsRecord per planned record.
//
// The set of records (names, types) must be known when the program runs, but the IP and the DKIM
// keys are Outputs. So the plan is made twice: once with placeholders, for the resources and their
// names, and once inside an apply, for the contents; the two must have the same shape.
//
// Resource names come from (type, record name), never from a position in the list, so adding a
// domain or an extra record renames nothing. A second record of the same type and name (an extra TXT
// at the apex, say) adds a short hash of its content, which is static config.
//
// SRV and CAA go to the v6 provider as `data` (srvData, caaData). SRV: {priority, weight, port, target} plus the same top-level
// `priority`: the API builds `content` from `data`, and leaving the top-level priority unset shows
// a change on every preview (terraform-provider-cloudflare#6684, #5383; pulumi-cloudflare v6 wraps it).
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { MailStackConfig } from "./core/config";
import { dkimSelectors } from "./core/dkim";
import { planRecords, RecordSpec } from "./core/records";
import { webHosts } from "./core/web";

export interface MailDnsArgs {
  config: MailStackConfig;
  /** The server's static IPv4 address. */
  ip: pulumi.Input<string>;
  /** Domain → selector (current and retired) → DKIM public key as base64 DER (core/dkim.ts dkimPublicKeyBase64). */
  dkimPublicKeys: Record<string, Record<string, pulumi.Input<string>>>;
}

export interface PlannedRecord {
  zone: string;
  name: string;
  type: string;
}

/** Documentation addresses (RFC 5737) and a minimal base64: only the shape of the plan is used. */
const PLACEHOLDER_IP = "192.0.2.1";
const PLACEHOLDER_KEY = "AA==";

function srvData(r: RecordSpec): cloudflare.types.input.DnsRecordData {
  const [weight, port, target] = r.content.split(" ");
  return { priority: r.priority ?? 0, weight: Number(weight), port: Number(port), target };
}

/**
 * CAA goes as `data` {flags, tag, value}, the form the API and provider read back (cloudflare/cf-terraforming
 * testdata/terraform/cloudflare_record_caa.tf; DnsRecordData in @pulumi/cloudflare's types/input.d.ts).
 */
function caaData(r: RecordSpec): cloudflare.types.input.DnsRecordData {
  const m = /^(\d+)\s+(\S+)\s+"?(.*?)"?$/.exec(r.content);
  if (!m) throw new Error(`MailDns: CAA content ${r.content} is not: flags tag "value"`);
  return { flags: Number(m[1]), tag: m[2], value: m[3] };
}

export class MailDns extends pulumi.ComponentResource {
  /** Every record, in plan order (zone, FQDN, type). */
  public readonly records: pulumi.Output<PlannedRecord[]>;
  /** The hostname's A record: the PTR must be set only after it exists. */
  public readonly aRecord: cloudflare.DnsRecord;
  /** Every DnsRecord, in plan order (for explicit dependencies). */
  public readonly dnsRecords: cloudflare.DnsRecord[] = [];
  /** The DKIM key records of every selector: the server may sign with a key only once its record exists. */
  public readonly dkimRecords: cloudflare.DnsRecord[] = [];
  /** The address records of the names served on 443: ACME HTTP-01 validates them before the certificate exists. */
  public readonly webRecords: cloudflare.DnsRecord[] = [];

  constructor(name: string, args: MailDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailserver:index:MailDns", name, {}, opts);
    const placeholders = Object.fromEntries(args.config.domains.map((d) =>
      [d.name, Object.fromEntries(dkimSelectors(args.config).map((s) => [s, PLACEHOLDER_KEY]))]));
    const shape = planRecords(args.config, PLACEHOLDER_IP, placeholders);
    const publicKeys = pulumi.all(Object.fromEntries(Object.entries(args.dkimPublicKeys).map(([d, bySelector]) => [d, pulumi.all(bySelector)])));
    const actual = pulumi.all([args.ip, publicKeys]).apply(([ip, keys]) => {
      const plan = planRecords(args.config, ip, keys);
      const same = plan.length === shape.length &&
        plan.every((r, i) => r.name === shape[i].name && r.type === shape[i].type && r.zoneId === shape[i].zoneId);
      if (!same) throw new Error(`MailDns: the records for IP ${ip} differ in shape from the planned ones (IPv6 address?)`);
      return plan;
    });

    const dkimNames = new Set(args.config.domains.flatMap((d) => dkimSelectors(args.config).map((s) => `${s}._domainkey.${d.name}`)));
    const webNames = new Set(webHosts(args.config));
    const used = new Set<string>();
    let aRecord: cloudflare.DnsRecord | undefined;
    shape.forEach((r, i) => {
      let resourceName = `${name}-${r.type}-${r.name}`;
      if (used.has(resourceName)) {
        resourceName += `-${createHash("sha256").update(r.content).digest("hex").slice(0, 8)}`;
      }
      used.add(resourceName);
      const content = actual.apply((p) => p[i]);
      const record = new cloudflare.DnsRecord(resourceName, {
        zoneId: r.zoneId,
        name: r.name,
        type: r.type,
        ttl: r.ttl,
        proxied: false,
        comment: "managed by the mailserver stack",
        ...(r.priority === undefined ? {} : { priority: r.priority }),
        ...(r.type === "SRV" ? { data: content.apply(srvData) }
          : r.type === "CAA" ? { data: content.apply(caaData) } : { content: content.apply((c) => c.content) }),
      }, { parent: this });
      this.dnsRecords.push(record);
      if (r.name === args.config.hostname && r.type === "A") aRecord = record;
      if (r.type === "TXT" && dkimNames.has(r.name)) this.dkimRecords.push(record);
      if ((r.type === "A" || r.type === "AAAA") && webNames.has(r.name)) this.webRecords.push(record);
    });
    if (!aRecord) throw new Error(`MailDns: no A record for ${args.config.hostname}`);
    this.aRecord = aRecord;
    this.records = pulumi.output(shape.map((r) => ({ zone: r.zone, name: r.name, type: r.type })));
    this.registerOutputs({ records: this.records });
  }
}
