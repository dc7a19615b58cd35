// DNSSEC on the hosted Cloudflare zones and the DANE TLSA records of the MX host (core/dane.ts decides
// what; this file only wires resources). Nothing is made unless mailserver:dnssec is on.
//
// cloudflare.ZoneDnssec: create and update PATCH /zones/{id}/dnssec with the status. Its delete first PATCHes
// status "disabled", then DELETEs /zones/{id}/dnssec (cloudflare/terraform-provider-cloudflare v5.19.1, which
// @pulumi/cloudflare 6.22 bridges: internal/services/zone_dnssec/resource.go line 205, custom.go line 19): the
// whole zone goes unsigned while the registrar still publishes its DS, and every validating resolver then
// refuses the domain. So a stack never deletes it: retainOnDelete, and a destroy, a dropped domain or
// dnssec false only forgets it (pulumi/pulumi pkg/resource/deploy/step.go, DeleteStep.Apply: no provider
// Delete for RetainOnDelete). Turning DNSSEC off is a manual step in the right order (docs/dns.md). Cloudflare
// signs from create on; the chain of trust exists only once the registrar publishes the DS record in the parent
// zone, which is why `ds` is a stack output.
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { MailStackConfig } from "./core/config";
import { planTlsaRecords, tlsKeyNames } from "./core/dane";

export interface MailDaneArgs {
  config: MailStackConfig;
  /** TLS key name → SHA-256 of its SubjectPublicKeyInfo (core/dane.ts spkiSha256), for every published key. */
  spkiHashes: Record<string, pulumi.Input<string>>;
}

const PLACEHOLDER_HASH = "0".repeat(64);

export class MailDane extends pulumi.ComponentResource {
  /** Domain → the DS record to give the registrar (empty without DNSSEC). */
  public readonly ds: pulumi.Output<Record<string, string>>;
  public readonly tlsaRecords: cloudflare.DnsRecord[] = [];
  /** The published TLSA contents ("3 1 1 <hex>"), for npm run status to compare with what DNS serves. */
  public readonly tlsa: pulumi.Output<string[]>;

  constructor(name: string, args: MailDaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailserver:index:MailDane", name, {}, opts);
    const c = args.config;
    const zones = c.dnssec ? c.domains.map((d) => new cloudflare.ZoneDnssec(`${name}-dnssec-${d.name}`, {
      zoneId: d.zoneId,
      status: "active",
    }, { parent: this, retainOnDelete: true })) : [];
    this.ds = pulumi.all(zones.map((z) => z.ds)).apply((ds) => Object.fromEntries(ds.map((record, i) => [c.domains[i].name, record])));

    // One record per key name (not per position): a rollover keeps the next key's record and deletes the old one.
    const keys = tlsKeyNames(c);
    const shape = planTlsaRecords(c, Object.fromEntries(keys.map((k) => [k, PLACEHOLDER_HASH])));
    const actual = pulumi.all(args.spkiHashes).apply((hashes) => planTlsaRecords(c, hashes));
    shape.forEach((r, i) => {
      const content = actual.apply((p) => p[i].content);
      this.tlsaRecords.push(new cloudflare.DnsRecord(`${name}-TLSA-${keys[i]}.${r.name}`, {
        zoneId: r.zoneId,
        name: r.name,
        type: r.type,
        ttl: r.ttl,
        proxied: false,
        comment: `managed by the mailserver stack: DANE, TLS key ${keys[i]}`,
        // The v6 provider sends TLSA as `data`; the API builds `content` ("3 1 1 <hex>") from it.
        data: content.apply((t) => {
          const [usage, selector, matchingType, certificate] = t.split(" ");
          return { usage: Number(usage), selector: Number(selector), matchingType: Number(matchingType), certificate };
        }),
      }, { parent: this, dependsOn: zones }));
    });
    this.tlsa = actual.apply((p) => p.map((r) => r.content));
    this.registerOutputs({ ds: this.ds, tlsa: this.tlsa });
  }
}
