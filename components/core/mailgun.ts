// The Mailgun side, pure: the API and SMTP hosts of a region, the credential's login, which of Mailgun's DNS records
// the stack publishes, and how a field change is applied (replace or update), as the Terraform provider that
// pulumi-mailgun bridges does it. No Pulumi import, no I/O: components/mailgun/ calls the API.

export const MAILGUN_REGIONS = ["us", "eu"] as const;
export type MailgunRegion = (typeof MAILGUN_REGIONS)[number];

/**
 * The hosts of each region. terraform-provider-mailgun v0.10.0 mailgun/config.go:25-31 (configureBaseUrl): "eu" selects
 * mailgun.APIBaseEU, anything else mailgun.APIBase; the SMTP hosts are the ones Mailgun's console shows per region.
 */
export const MAILGUN_HOSTS: Record<MailgunRegion, { api: string; smtp: string }> = {
  us: { api: "https://api.mailgun.net", smtp: "smtp.mailgun.org" },
  eu: { api: "https://api.eu.mailgun.net", smtp: "smtp.eu.mailgun.org" },
};

/** The stack's own DKIM selector on the sending domain: known before the API answers, so the record's name is too. */
export const MAILGUN_DKIM_SELECTOR = "mx";

export interface MailgunSettings {
  apiKey: string;
  region: MailgunRegion;
  /** Where the API is: the region's, or mailgunApiUrl (a compatible endpoint, such as the lab's stand-in). */
  apiUrl: string;
  smtpHost: string;
  /** The sending domain (default mg.<domain>). */
  domain: string;
  /** mailgunCredentialGeneration: a new number is a new credential (rotation). */
  generation: number;
  /** The credential's login, a full address: Mailgun lists credentials by it. */
  login: string;
}

/** The SMTP login of a generation: a new generation is a new login, so the old credential keeps working until deleted. */
export const credentialLogin = (domain: string, generation: number): string => `mailserver-g${generation}@${domain}`;

export function mailgunSettings(p: { apiKey: string; region?: MailgunRegion; domain: string; generation?: number; apiUrl?: string }): MailgunSettings {
  const region = p.region ?? "us";
  const generation = p.generation ?? 1;
  return {
    apiKey: p.apiKey, region, apiUrl: (p.apiUrl ?? MAILGUN_HOSTS[region].api).replace(/\/$/, ""), smtpHost: MAILGUN_HOSTS[region].smtp,
    domain: p.domain, generation, login: credentialLogin(p.domain, generation),
  };
}

/** The raw keys of the two relay modes (as config.ts parses them). */
export interface RelayKeys {
  relayUsername?: string; relayPassword?: string;
  mailgunApiKey?: string; mailgunRegion?: string; mailgunDomain?: string; mailgunCredentialGeneration?: number; mailgunApiUrl?: string;
}
/** Keys without a fixed default that mean something only in the API mode (region and generation have defaults). */
const MAILGUN_ONLY = ["mailgunDomain", "mailgunApiUrl"] as const;

/** One relay mode, complete: the hand-typed login (both keys) or the API key, never a mix. Each message starts with its key. */
export function relayModeProblems(p: RelayKeys): string[] {
  const typed = (["relayUsername", "relayPassword"] as const).filter((k) => p[k] !== undefined);
  if (p.mailgunApiKey !== undefined) {
    return typed.map((k) => `mailserver:${k}: is set together with mailserver:mailgunApiKey — with an API key the stack ` +
      `creates the SMTP credential itself; remove ${typed.map((t) => `mailserver:${t}`).join(" and ")} (pulumi config rm), or remove mailserver:mailgunApiKey to keep the hand-typed login`);
  }
  const problems = MAILGUN_ONLY.filter((k) => p[k] !== undefined).map((k) =>
    `mailserver:${k}: applies only with mailserver:mailgunApiKey — set the API key (pulumi config set --secret mailserver:mailgunApiKey), or remove ${k}`);
  if (typed.length === 0) {
    problems.push("mailserver:relayUsername: is required — either set mailserver:mailgunApiKey (pulumi config set --secret " +
      "mailserver:mailgunApiKey) and the stack creates the Mailgun domain and SMTP credential, or set mailserver:relayUsername and " +
      "mailserver:relayPassword (pulumi config set --secret mailserver:relayPassword) by hand");
  } else if (typed.length === 1) {
    const missing = typed[0] === "relayUsername" ? "relayPassword" : "relayUsername";
    problems.push(`mailserver:${missing}: is required with mailserver:${typed[0]} — set it too (the hand-typed relay login needs both)`);
  }
  return problems;
}

/** A DNS record as the Mailgun API lists it (GET /v4/domains/{name}: sending_dns_records, receiving_dns_records). */
export interface MailgunDnsRecord {
  record_type: string;
  name?: string;
  value: string;
  priority?: string;
  valid?: string;
}

/**
 * A record the stack publishes for the sending domain: its type is known at preview, its content (and the DKIM record's
 * name, which carries the domain's selector: an adopted domain keeps its own) from the API.
 */
export interface MailgunRecordSlot { key: string; type: "TXT" | "MX"; priority?: number; match: (r: MailgunDnsRecord) => boolean }
/** A slot as the API filled it: the record to publish (TXT content unquoted). */
export interface MailgunRecord { name: string; content: string }

/**
 * The records a sending domain needs, as Mailgun's API answers for it: SPF and DKIM (sending) and the two MX (receiving,
 * so bounces reach Mailgun). The tracking CNAME is left out: the stack creates the domain with tracking off.
 */
export function mailgunRecordSlots(domain: string): MailgunRecordSlot[] {
  const mx = (host: string, priority: number): MailgunRecordSlot => ({
    key: `mx-${host}`, type: "MX", priority,
    match: (r) => r.record_type === "MX" && r.value.replace(/\.$/, "") === host,
  });
  return [
    { key: "spf", type: "TXT", match: (r) => r.record_type === "TXT" && r.name === domain && r.value.startsWith("v=spf1") },
    { key: "dkim", type: "TXT", match: (r) => r.record_type === "TXT" && (r.name ?? "").endsWith(`._domainkey.${domain}`) },
    mx("mxa.mailgun.org", 10),
    mx("mxb.mailgun.org", 10),
  ];
}

/**
 * The content of each slot in the API's answer. A record the API lists that no slot takes (other than the tracking
 * CNAME) or a slot the API does not fill is an error naming it: the stack would publish something Mailgun does not check.
 */
export function recordContents(domain: string, records: MailgunDnsRecord[]): Record<string, MailgunRecord> {
  const slots = mailgunRecordSlots(domain);
  const out: Record<string, MailgunRecord> = {};
  for (const slot of slots) {
    const found = records.filter(slot.match);
    if (found.length !== 1) {
      throw new Error(`Mailgun lists ${found.length === 0 ? "no" : found.length} ${slot.type} record${found.length > 1 ? "s" : ""} ${slot.key} ` +
        `for ${domain}: its answer has ${records.map(describe).join("; ") || "no records"} — check the domain in Mailgun's console`);
    }
    out[slot.key] = { name: found[0].name ?? domain, content: found[0].value.replace(/\.$/, "") };
  }
  const extra = records.filter((r) => !slots.some((s) => s.match(r)) && r.record_type !== "CNAME");
  if (extra.length > 0) throw new Error(`Mailgun asks for records the stack does not publish for ${domain}: ${extra.map(describe).join("; ")}`);
  return out;
}

export const describe = (r: MailgunDnsRecord): string => `${r.record_type} ${r.name ?? "(receiving)"} ${r.value}`;

/** The records Mailgun still finds missing or wrong after a verify: "valid" is "valid" for the good ones. */
export function unverifiedRecords(records: MailgunDnsRecord[]): MailgunDnsRecord[] {
  return records.filter((r) => r.valid !== "valid" && r.record_type !== "CNAME");
}

/**
 * Which input fields replace the resource, as the bridged Terraform provider (terraform-provider-mailgun v0.10.0, which
 * pulumi-mailgun v3.9.0 bridges: its `upstream` submodule is that tag's commit a99277b) declares them:
 * - mailgun_domain: name, region, spam_action, dkim_selector RequiresReplace (internal/framework/domain_schema.go:27-30,
 *   33-40, 41-48, 71-76); tracking and web scheme are updated in place (domain_crud.go:138-158);
 * - mailgun_domain_credential: login, domain, region RequiresReplace (credential_resource.go:59-64, 69-74, 75-82); its password
 *   is an input there, updated in place (credential_resource.go:65-68, 196), while ours is made by the provider and is no
 *   input: a new password comes with a new login (mailgunCredentialGeneration), never as an update.
 * apiKey and apiUrl are the provider's configuration, not the resource's (see ENDPOINT_FIELDS).
 */
export const REPLACE_FIELDS = {
  domain: ["name", "region", "spamAction", "dkimSelector"],
  credential: ["login", "domain", "region"],
} as const;
/**
 * The provider's configuration, carried as inputs. A change asks nothing of Mailgun, but is an update: the state must
 * take the new key, which a later delete uses (the engine hands delete the stored outputs), the old one may be revoked.
 */
const ENDPOINT_FIELDS = ["apiKey", "apiUrl"] as const;

/** Whether anything changed, and the fields that replace, for a dynamic provider's diff. */
export function fieldDiff(kind: keyof typeof REPLACE_FIELDS, olds: Record<string, unknown>, news: Record<string, unknown>):
  { changes: boolean; replaces: string[] } {
  const differs = (k: string) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]);
  const replaces = REPLACE_FIELDS[kind].filter(differs);
  return { changes: replaces.length > 0 || ENDPOINT_FIELDS.some(differs), replaces };
}
