// The Mailgun side of the relay (mailserver:mailgunApiKey): the sending domain, the records Mailgun asks for in its
// Cloudflare zone, the wait for Mailgun's verification, and the SMTP credential whose password the server relays with.
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { MailStackConfig, zoneOf } from "./core/config";
import { MAILGUN_DKIM_SELECTOR, mailgunRecordSlots, MailgunSettings } from "./core/mailgun";
import { txtContent } from "./core/records";
import { getDomain } from "./mailgun-api";
import { MailgunCredential, MailgunDomain, MailgunVerification } from "./mailgun-provider";

/** How long a deploy waits for Mailgun to see the records (Cloudflare serves them within seconds; Mailgun's resolver caches). */
export const VERIFY_TIMEOUT_SECONDS = 600;
const VERIFY_INTERVAL_SECONDS = 10;

/**
 * Fails, before any resource is registered, when Mailgun refuses the API key (mailgun-api.ts apiError names the key and
 * the region): a wrong key changes nothing. A read only, so a preview makes it too.
 */
export async function checkMailgunAccess(m: MailgunSettings): Promise<void> {
  await getDomain({ apiUrl: m.apiUrl, apiKey: m.apiKey }, m.domain);
}

export interface MailgunSendingArgs { config: MailStackConfig; settings: MailgunSettings }

export class MailgunSending extends pulumi.ComponentResource {
  /** Secret: the relay password of the current credential. */
  public readonly password: pulumi.Output<string>;
  /** Mailgun's state of the domain once verified ("active"): the server relays through it only then. */
  public readonly verification: MailgunVerification;
  public readonly records: cloudflare.DnsRecord[];

  constructor(name: string, args: MailgunSendingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mailserver:index:MailgunSending", name, {}, opts);
    const m = args.settings;
    const parent = { parent: this };
    const endpoint = { apiUrl: m.apiUrl, apiKey: pulumi.secret(m.apiKey), region: m.region };
    const zone = zoneOf(args.config, m.domain);
    if (!zone) throw new Error(`MailgunSending: ${m.domain} is in no hosted zone (config.ts checks this)`);

    const domain = new MailgunDomain(`${name}-mailgun-domain`, { ...endpoint, name: m.domain, dkimSelector: MAILGUN_DKIM_SELECTOR, spamAction: "disabled" }, parent);
    this.records = mailgunRecordSlots(m.domain).map((slot) => {
      const record = domain.records.apply((r) => r[slot.key]);
      return new cloudflare.DnsRecord(`${name}-mailgun-${slot.key}`, {
        zoneId: zone.zoneId,
        name: record.apply((r) => r.name),
        type: slot.type,
        ttl: args.config.dnsTtl,
        proxied: false,
        comment: "Mailgun sending domain, managed by the mailserver stack",
        ...(slot.priority === undefined ? {} : { priority: slot.priority }),
        content: record.apply((r) => (slot.type === "TXT" ? txtContent(r.content) : r.content)),
      }, parent);
    });
    const published = pulumi.all(this.records.map((r) => pulumi.all([r.name, r.content]).apply(([n, c]) => ({ name: n, content: c ?? "" }))));
    this.verification = new MailgunVerification(`${name}-mailgun-verification`, {
      ...endpoint, name: m.domain, records: published, timeoutSeconds: VERIFY_TIMEOUT_SECONDS, intervalSeconds: VERIFY_INTERVAL_SECONDS,
    }, { ...parent, dependsOn: this.records });
    const credential = new MailgunCredential(`${name}-mailgun-credential`, { ...endpoint, domain: domain.id, login: m.login }, parent);
    this.password = pulumi.secret(credential.password);
    this.registerOutputs({});
  }
}
