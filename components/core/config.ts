// Stack configuration: the one place that knows the keys, their defaults and what makes them valid.
// Pure: it takes the raw values (strings from the Pulumi runtime, or YAML values from a stack file)
// and returns a complete MailStackConfig, or throws a ConfigError that lists every problem at once.
import { isIP } from "node:net";
import { z } from "zod";
import { isSystemAccount } from "./accounts";
import { findAliasLoop } from "./aliases";
import { dkimSelectors } from "./dkim";
import { ACCEPTED_HASH_SCHEMES, hashScheme } from "./passwords";
import { MTA_STS_MODES } from "./mta-sts";
import { DEFAULT_RELEASE, type DebianRelease, debianReleaseOf } from "./release";
import { DEFAULT_MAINTENANCE_WINDOW, maintenanceWindowProblem } from "./maintenance";
import { MAILGUN_REGIONS, MailgunSettings, mailgunSettings, relayModeProblems } from "./mailgun";

export const NAMESPACE = "mailserver";

export const TLS_MODES = ["acme", "self-signed"] as const;
export const DMARC_POLICIES = ["none", "quarantine", "reject"] as const;
export const SPF_QUALIFIERS = ["~all", "-all"] as const;
export const RECORD_TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA"] as const;
export const DEFAULT_DKIM_SELECTOR = "s1";
export const DEFAULT_TLS_KEY = "k1";

export interface MailDomain {
  name: string;
  zoneId: string;
}
export interface MailUser {
  address: string;
  password?: string;
  passwordHash?: string;
  /** This mailbox's quota in MB, overriding mailboxQuotaMb (0: unlimited). */
  quotaMb?: number;
  /** Recipients this login may send to per hour, overriding sendLimitPerHour (0: unlimited). */
  sendLimitPerHour?: number;
}
export interface MailAlias {
  /** An address, or `@domain` for the domain's catch-all. */
  source: string;
  destinations: string[];
}
export interface ExtraRecord {
  zoneId: string;
  name: string;
  type: (typeof RECORD_TYPES)[number];
  content: string;
  priority?: number;
  ttl?: number;
}

export interface MailStackConfig {
  /** The primary domain; also the first entry of `domains`. */
  domain: string;
  hostname: string;
  /** Every hosted mail domain, primary first. */
  domains: MailDomain[];
  users: MailUser[];
  /** The configured aliases plus the RFC 2142 defaults (postmaster@, abuse@) of every domain. */
  aliases: MailAlias[];
  /**
   * The relay login: typed by hand (relayUsername, relayPassword), or, with a Mailgun API key, the credential the
   * stack creates (`mailgun`; its password exists only as the credential resource's secret output).
   */
  relay: { host: string; port: number; username: string; password?: string; mailgun?: MailgunSettings };
  dmarcPolicy: (typeof DMARC_POLICIES)[number];
  dmarcReportEmail: string;
  spfAll: (typeof SPF_QUALIFIERS)[number];
  /** The selector that signs. */
  dkimSelector: string;
  /** Former selectors whose keys and records stay published until their mail has been verified. */
  dkimRetiredSelectors: string[];
  dnsTtl: number;
  extraRecords: ExtraRecord[];
  sshSourceRanges: string[];
  /** SSH for deploys goes through Identity-Aware Proxy TCP forwarding to localhost:iapTunnelPort. */
  sshViaIap: boolean;
  iapTunnelPort: number;
  machineType: string;
  image: string;
  /** The Debian release of `image`: it chooses the daemons' configuration language (Dovecot 2.3 or 2.4). */
  release: DebianRelease;
  /** The boot disk: a larger size is resized on the running VM (then mail-grow-root); GCE refuses a smaller one. */
  bootDiskSizeGb: number;
  dataDiskSizeGb: number;
  snapshotRetentionDays: number;
  protectData: boolean;
  ptr: boolean;
  tls: (typeof TLS_MODES)[number];
  acmeServer: string;
  acmeEmail: string;
  messageSizeLimitMb: number;
  /** Inbound filtering (rspamd): at or above junk the message is filed into Junk, at or above reject refused. */
  spam: { junkScore: number; rejectScore: number; greylisting: boolean; greylistDelaySeconds: number };
  /** Default mailbox quota in MB (0: unlimited); users[].quotaMb overrides it. */
  mailboxQuotaMb: number;
  deployUser: string;
  gcp: { project: string; region: string; zone: string };
  /** MTA-STS policy mode and max_age (seconds) for every hosted domain. */
  mtaSts: { mode: (typeof MTA_STS_MODES)[number]; maxAge: number };
  /** CAA issuer-domain-name allowed to issue for the hosted domains; ";" when no CA may (self-signed). */
  caaIssuer: string;
  /** Where snapshots of the data disk are stored: a multi-region (us, eu, asia) or a region. */
  snapshotLocation: string;
  /** The snapshot the data disk was restored from (a restore replaces the disk with one made from it). */
  dataDiskSnapshot?: string;
  /** Where alerts go (Cloud Monitoring, the daily self-check): an address outside the hosted domains. */
  alertEmail?: string;
  /** DNSSEC on every hosted zone (Cloudflare signs), and with it the DANE TLSA record of port 25. */
  dnssec: boolean;
  /** The name of the TLS key that serves (core/dane.ts): a new name is a new key. */
  tlsKey: string;
  /** A key published (TLSA) beside tlsKey before it serves: the first half of a key rollover. */
  tlsNextKey?: string;
  /**
   * Abuse limits: fail2ban bans an address from the mail ports after `banAfterFailures` failed logins
   * within 10 minutes, for `banMinutes`; `exemptRanges` are never banned nor throttled by Postfix's
   * per-client limits. `sendLimitPerHour`: recipients per hour per login on submission (0: unlimited).
   */
  abuse: { banAfterFailures: number; banMinutes: number; exemptRanges: string[]; sendLimitPerHour: number };
  /** "HH:MM-HH:MM" (UTC): the only time the VM reboots by itself, when an installed update requires it. */
  maintenanceWindow: string;
}

/** Every problem found, each as "key: what is wrong — the fix". */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
      problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

// ---------- value checks ----------

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
export function isDomainName(s: string): boolean {
  if (s.length > MAX_DNS_NAME || !s.includes(".")) return false;
  const labels = s.split(".");
  return labels.every((l) => LABEL.test(l)) && /[a-z]/.test(labels[labels.length - 1]);
}
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
export function isAddress(s: string): boolean {
  const at = s.lastIndexOf("@");
  return at > 0 && s.length <= 254 && LOCAL_PART.test(s.slice(0, at)) && isDomainName(s.slice(at + 1));
}
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}

/**
 * What an address is used for decides which characters it may hold:
 * - mailbox: a Dovecot login, so only Dovecot's default auth_username_chars (letters, digits, . - _);
 * - source: an alias, a key of Postfix maps: no leading # (a comment line) and no + (the recipient delimiter);
 * - destination: an outside address in a map value: RFC 5322 atext without a leading #;
 * - plain: also goes into a DNS record (rua=mailto:) and the provisioning script: letters, digits, . _ + -.
 */
export type AddressUse = "mailbox" | "source" | "destination" | "plain";

const DELIMITER_FIX = "+ is the recipient delimiter (alice+tag@ is delivered to alice@), so Dovecot looks up the part before it and the mail bounces; remove the +";

/** The problem (message with its fix) of an address for a use, or undefined if it is fine. */
export function addressProblem(address: string, use: AddressUse): string | undefined {
  if (!isAddress(address)) return "is not a valid e-mail address — use local@domain, e.g. alice@example.com";
  const local = address.slice(0, address.lastIndexOf("@"));
  if (local.startsWith("-")) {
    return "starts with -, which a program given the address (certbot -m, sendmail) reads as an option — start it with a letter or digit";
  }
  if (local.startsWith("#")) {
    return "starts with #, which Postfix maps read as a comment: the address would silently not exist — start it with a letter or digit";
  }
  if ((use === "mailbox" || use === "source") && local.includes("+")) return `contains + — ${DELIMITER_FIX}`;
  if (use === "mailbox" && !/^[a-z0-9._-]+$/.test(local)) {
    return "has characters outside Dovecot's auth_username_chars, so this user could never log in — use only letters, digits, . - _ before the @";
  }
  if (use === "plain" && !/^[a-z0-9._+-]+$/.test(local)) {
    return "may only hold letters, digits and . _ + - before the @ (it goes into DNS records and the provisioning script) — use a plain address";
  }
  return undefined;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why a secret cannot be stored as given, or undefined. Secrets are never trimmed or altered: a value a
 * file cannot carry is refused, so what the server uses is exactly what the admin set.
 */
export function secretProblem(value: string, carrier: string): string | undefined {
  if (CONTROL.test(value)) return `contains a control character (newline, tab …), which ${carrier} cannot carry — set a value without one`;
  if (value.trim() !== value) return `starts or ends with whitespace, which ${carrier} would strip — set a value without it (it is never trimmed for you)`;
  return undefined;
}

/** Parses "a.b.c.d/n" or "x::y/n"; returns undefined if it is not a CIDR block. */
export function parseCidr(s: string): { version: 4 | 6; prefix: number } | undefined {
  const m = /^([^/%]+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const version = isIP(m[1]);
  const prefix = Number(m[2]);
  if (version === 0 || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { version: version as 4 | 6, prefix };
}

/** Two domains of one organisation (one is the other or below it): DMARC reports pass between them freely. */
export function sameOrganisation(a: string, b: string): boolean {
  return a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);
}

/** RFC 1035 §2.3.4 as text: 255 octets on the wire are 253 characters without the final dot. */
export const MAX_DNS_NAME = 253;
/** The longest fixed prefixes we publish under a domain (records.ts SRV_SERVICES) and under the hostname (dane.ts). */
const SRV_PREFIX = "_submissions._tcp.";
const TLSA_PREFIX = "_25._tcp.";

// ---------- schema ----------

const lower = (s: string) => s.trim().toLowerCase();
/** A zod check from a function that returns the problem's message (with its fix) or undefined. */
const problemCheck = <T>(problem: (value: T) => string | undefined) => (value: T, ctx: z.RefinementCtx) => {
  const message = problem(value);
  if (message !== undefined) ctx.addIssue({ code: "custom", message });
};
const domainName = z.string().transform(lower).refine(isDomainName, {
  message: "is not a valid domain name — use lower-case labels like example.com",
});
const address = (use: AddressUse) => z.string().transform(lower).superRefine(problemCheck((a: string) => addressProblem(a, use)));
const nonEmpty = (what: string) => z.string().trim().min(1, { message: `is empty — set ${what}` });
/** A secret: kept byte for byte; refused (never repaired) when its carrier cannot hold it. */
const secret = (what: string, carrier: string) => z.string().min(1, { message: `is empty — set ${what}` })
  .superRefine(problemCheck((s: string) => secretProblem(s, carrier))).meta({ secret: true });
const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { message: `must be one of ${values.join(", ")}` });
const int = (min: number, max: number) =>
  z.coerce.number({ message: "must be a number" }).int({ message: "must be a whole number" })
    .min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` });
/** Cloudflare accepts 1 (automatic) or 60..86400 seconds. */
const TTL_RANGE = "must be 1 (automatic) or 60–86400 seconds, as Cloudflare requires — e.g. 300";
const ttl = z.coerce.number({ message: "must be a number" }).int({ message: TTL_RANGE })
  .refine((t) => t === 1 || (t >= 60 && t <= 86400), { message: TTL_RANGE });
const bool = z.preprocess(
  (v) => (v === "true" ? true : v === "false" ? false : v),
  z.boolean({ message: "must be true or false" }),
);
const list = <T extends z.ZodTypeAny>(item: T) => z.array(item, { message: "must be a list" });
const dkimSelector = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
  message: "must be one DNS label (letters, digits, dashes), e.g. s1",
});
/** One line of text (DNS record names and contents): a control character would start another. */
const oneLine = (what: string) => nonEmpty(what).refine((s) => !CONTROL.test(s), {
  message: "contains a control character (newline?) — write it on one line; long TXT values are split for you",
});

const tlsKeyName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
  message: "must be one DNS label (letters, digits, dashes), e.g. k2",
});

const userSchema = z.object({
  address: address("mailbox"),
  password: z.string().min(1, { message: "is empty — set a password or remove the key" }).optional(),
  passwordHash: z.string().refine((h) => !/[\s:]/.test(h) && !CONTROL.test(h), {
    message: "contains :, whitespace or a control character, which the passwd-file (address:hash) cannot hold — paste the hash exactly as doveadm pw printed it",
  }).optional(),
  quotaMb: int(0, 1048576).optional(),
  sendLimitPerHour: int(0, 1000000).optional(),
}, { message: "must be an object {address, password?, passwordHash?, quotaMb?, sendLimitPerHour?}" }).strict();

/** A catch-all alias source: `@domain` takes every address of the domain that is no mailbox and no other alias. */
export const isCatchAll = (source: string): boolean => source.startsWith("@");
const aliasSource = z.string().transform(lower).superRefine(problemCheck((s: string) => (isCatchAll(s)
  ? isDomainName(s.slice(1)) ? undefined : "is not a catch-all of a domain — write @ and the hosted domain, e.g. @example.com"
  : addressProblem(s, "source"))));

const aliasSchema = z.object({
  source: aliasSource,
  destinations: list(z.string().transform(lower).superRefine(problemCheck((d: string) => (d === "discard" ? undefined
    : isAddress(d) ? addressProblem(d, "destination")
      : "is neither an e-mail address nor discard — use an address, or discard to drop the mail"))))
    .min(1, { message: "is empty — list at least one destination, or discard" }),
}, { message: "must be an object {source, destinations}" }).strict();

const schema = z.object({
  domain: domainName,
  zoneId: nonEmpty("the Cloudflare zone id of the domain"),
  hostname: domainName.optional(),
  extraDomains: list(z.object({ name: domainName, zoneId: nonEmpty("the Cloudflare zone id of this domain") },
    { message: "must be an object {name, zoneId}" }).strict()).default([]),
  users: list(userSchema).default([]),
  aliases: list(aliasSchema).default([]),
  relayHost: domainName.optional(),
  relayPort: int(1, 65535).default(2525),
  relayUsername: z.string().min(1, { message: "is empty — set your Mailgun SMTP login" }).refine((u) => !/[\s:]/.test(u) && !CONTROL.test(u), {
    message: "contains :, whitespace or a control character, which sasl_passwd (nexthop user:password) cannot hold — set the SMTP login exactly as Mailgun shows it",
  }).optional(),
  relayPassword: secret("your Mailgun SMTP password (pulumi config set --secret mailserver:relayPassword)", "sasl_passwd").optional().meta({ secret: true }),
  // The API mode (components/mailgun.ts): the stack makes the sending domain, its records and the SMTP credential.
  mailgunApiKey: secret("your Mailgun API key (pulumi config set --secret mailserver:mailgunApiKey)", "the API's Authorization header").optional().meta({ secret: true }),
  mailgunRegion: oneOf(MAILGUN_REGIONS).default("us"),
  mailgunDomain: domainName.optional(),
  mailgunCredentialGeneration: int(1, 1000000).default(1),
  // Every request carries the API key (Basic auth): only TLS may carry it. A private CA's endpoint is trusted by giving
  // `pulumi up` NODE_EXTRA_CA_CERTS, as the lab does, never by turning certificate checks off.
  mailgunApiUrl: z.url({ message: "must be the URL of a Mailgun-compatible API, e.g. https://api.eu.mailgun.net" })
    .regex(/^https:\/\//, {
      message: "must start with https:// — the API key goes in every request's Authorization header, which http would send in clear; " +
        "set the endpoint's https:// address (pulumi config set mailserver:mailgunApiUrl https://…), or remove mailserver:mailgunApiUrl to use the region's API",
    })
    .regex(/^[a-z]+:\/\/[A-Za-z0-9.-]+(:\d+)?\/?$/, { message: "must be a scheme and host only, e.g. https://api.eu.mailgun.net" }).optional(),
  dmarcPolicy: oneOf(DMARC_POLICIES).default("quarantine"),
  dmarcReportEmail: address("plain").optional(),
  spfAll: oneOf(SPF_QUALIFIERS).default("~all"),
  dkimSelector: dkimSelector.default(DEFAULT_DKIM_SELECTOR),
  dkimRetiredSelectors: list(dkimSelector).default([]),
  dnsTtl: ttl.default(300),
  extraRecords: list(z.object({
    zoneId: nonEmpty("the zone id the record belongs to"),
    name: oneLine("the record name").refine((n) => !/\s/.test(n), {
      message: "contains whitespace — a record name is one DNS name, e.g. www or _dmarc.example.com",
    }),
    type: oneOf(RECORD_TYPES),
    content: oneLine("the record content"),
    priority: int(0, 65535).optional(),
    ttl: ttl.optional(),
  }, { message: "must be an object {zoneId, name, type, content, priority?, ttl?}" }).strict()).default([]),
  sshSourceRanges: list(z.string().trim()).min(1, {
    message: "is empty — list the CIDR ranges of your admins, e.g. [203.0.113.4/32]",
  }),
  sshViaIap: bool.default(false),
  iapTunnelPort: int(1024, 65535).default(2222),
  machineType: nonEmpty("a GCE machine type such as e2-small").default("e2-small"),
  image: nonEmpty("a Debian image family such as debian-cloud/debian-12").refine((i) => debianReleaseOf(i) !== undefined, {
    message: "names no Debian release we support — use the image family debian-cloud/debian-12 or debian-cloud/debian-13 " +
      "(or one image of it, e.g. debian-12-bookworm-v20251014): the daemons' files are written for the release the image names",
  }).default(`debian-cloud/debian-${DEFAULT_RELEASE}`),
  // The debian-12 image is 10 GB: GCE refuses a smaller boot disk.
  bootDiskSizeGb: int(10, 65536).default(10),
  dataDiskSizeGb: int(10, 65536).default(20),
  snapshotRetentionDays: int(1, 3650).default(14),
  protectData: bool.default(true),
  ptr: bool.default(false),
  tls: oneOf(TLS_MODES).default("acme"),
  acmeServer: z.url({ message: "must be the URL of an ACME directory" })
    .regex(/^https:\/\/[A-Za-z0-9._~:/?#[\]@!$&'()*+,;=%-]+$/, {
      message: "must be an https:// URL of an ACME directory, e.g. https://acme-v02.api.letsencrypt.org/directory",
    })
    .default("https://acme-v02.api.letsencrypt.org/directory"),
  acmeEmail: address("plain").optional(),
  messageSizeLimitMb: int(1, 2048).default(25),
  // Whole scores: Pulumi.yaml declares integers (the CLI has no decimal type); rspamd's defaults are whole too.
  spamJunkScore: int(1, 1000).default(6),
  spamRejectScore: int(1, 1000).default(15),
  greylisting: bool.default(false),
  // rspamd's default window (timeout = 5min); shorter only for tests, longer for stubborn senders.
  greylistDelaySeconds: int(10, 3600).default(300),
  mailboxQuotaMb: int(0, 1048576).default(2048),
  deployUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,30}$/, { message: "must be a Linux user name" })
    .refine((u) => u !== "root", { message: "must not be root — pick an unprivileged name such as deploy" })
    // The guest agent gives this user the deploy key and passwordless sudo, even when the account exists.
    .refine((u) => u === "root" /* its own message above */ || !isSystemAccount(u), {
      message: "is an account the VM's system or one of its daemons uses (www-data, vmail, postfix, _rspamd …): it would get the deploy key and passwordless sudo — pick a name of your own such as deploy",
    })
    .default("deploy"),
  "gcp:project": nonEmpty("your Google Cloud project id (pulumi config set gcp:project ...)"),
  "gcp:zone": z.string().regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, {
    message: "must be a Compute Engine zone such as europe-west1-b (pulumi config set gcp:zone ...)",
  }),
  "gcp:region": z.string().regex(/^[a-z]+-[a-z]+\d+$/, { message: "must be a region such as europe-west1" }).optional(),
  mtaStsMode: oneOf(MTA_STS_MODES).default("testing"),
  // RFC 8461 §3.2 allows up to a year and advises weeks; Mail-in-a-Box publishes one week.
  mtaStsMaxAge: int(86400, 31557600).default(604800),
  caaIssuer: domainName.optional(),
  "cloudflare:apiToken": secret("a Cloudflare API token (pulumi config set --secret cloudflare:apiToken ...)", "the API's Authorization header"),
  snapshotLocation: z.string().regex(/^[a-z]+(-[a-z]+\d+)?$/, {
    message: "must be a Cloud Storage multi-region (us, eu, asia) or a region such as europe-west1",
  }).optional(),
  dataDiskSnapshot: z.string().regex(/^(projects\/[a-z0-9-]+\/global\/snapshots\/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, {
    message: "must be a snapshot name (gcloud compute snapshots list) or projects/<project>/global/snapshots/<name>",
  }).optional(),
  alertEmail: z.string().transform(lower).pipe(z.email({ message: "is not a valid e-mail address — use local@domain, e.g. oncall@example.org" })).optional(),
  dnssec: bool.default(false),
  tlsKey: tlsKeyName.default(DEFAULT_TLS_KEY),
  tlsNextKey: tlsKeyName.optional(),
  // fail2ban's own default (maxretry = 5); below 3 one mistyped password on a phone and a retry ban the office.
  banAfterFailures: int(3, 100).default(5),
  // Between fail2ban's 10 minutes (a scanner just waits) and docker-mailserver's week (a user who mistyped
  // locks the whole office out for days): an hour makes a password guesser's rate useless.
  banMinutes: int(1, 525600).default(60),
  abuseExemptRanges: list(z.string().trim()).default([]),
  // Recipients per hour per login: above what a person sends (Gmail allows 500 a day, Microsoft 365 30 a
  // minute), far below what a stolen mailbox would push through the relay in an hour.
  sendLimitPerHour: int(0, 1000000).default(200),
  // A night hour: security updates install daily (unattended-upgrades); only a reboot waits for the window.
  maintenanceWindow: z.string().trim().superRefine(problemCheck(maintenanceWindowProblem)).default(DEFAULT_MAINTENANCE_WINDOW)
    .describe("When the VM may reboot by itself after a security update that requires it (a new kernel), HH:MM-HH:MM in UTC; mail is queued meanwhile."),
});

type Parsed = z.infer<typeof schema>;
/** A key of the schema: `name` for the project's own keys (`mailserver:name`), `provider:name` for a provider's. */
export type ConfigKeyName = keyof typeof schema.shape;
/** The schema, for scripts/generate-config.ts (Pulumi.yaml's `config:` block and docs/configuration.md). */
export const CONFIG_SCHEMA = schema;
/** A key as the stack file names it. */
export const fullKey = (k: string): string => (k.includes(":") ? k : `${NAMESPACE}:${k}`);
/** Keys whose schema says secret: the CLI must hold them encrypted. */
export const SECRET_KEYS: string[] = Object.entries(schema.shape)
  .filter(([, s]) => (s.meta() as { secret?: boolean } | undefined)?.secret === true).map(([k]) => fullKey(k));

/** The keys of the schema that hold lists or objects: the Pulumi runtime hands them over as JSON text. */
const STRUCTURED = new Set(["extraDomains", "users", "aliases", "dkimRetiredSelectors", "extraRecords", "sshSourceRanges",
  "abuseExemptRanges"]);
/** Every key, as `namespace:key`, that the program reads. */
export const CONFIG_KEYS: string[] = Object.keys(schema.shape).map(fullKey);

function keyPath(path: PropertyKey[]): string {
  const [head, ...rest] = path;
  const key = String(head).includes(":") ? String(head) : `${NAMESPACE}:${String(head)}`;
  return key + rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

function decodeRaw(raw: Record<string, unknown>, problems: string[]): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const full of CONFIG_KEYS) {
    const key = full.startsWith(`${NAMESPACE}:`) ? full.slice(NAMESPACE.length + 1) : full;
    let value = raw[full];
    if (value === undefined || value === null || value === "") continue;
    if (STRUCTURED.has(key) && typeof value === "string") {
      try {
        value = JSON.parse(value);
      } catch {
        problems.push(`${full}: is not valid JSON — set it as a YAML list in Pulumi.<stack>.yaml or with pulumi config set --path`);
        continue;
      }
    }
    input[key] = value;
  }
  return input;
}

/**
 * Validates raw stack configuration (keys as `namespace:key`) and fills in defaults.
 * Throws ConfigError naming every bad key and its fix.
 */
export function parseConfig(raw: Record<string, unknown>): MailStackConfig {
  const problems: string[] = [];
  const input = decodeRaw(raw, problems);
  const unknown = Object.keys(raw).filter((k) => k.startsWith(`${NAMESPACE}:`) && !CONFIG_KEYS.includes(k));
  for (const k of unknown) problems.push(`${k}: is not a known key — check the spelling against docs/configuration.md`);

  const result = schema.safeParse(input);
  if (result.success) {
    const config = complete(result.data);
    problems.push(...crossCheck(config, result.data));
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
  }
  const failed = new Set<string>();
  for (const issue of result.error.issues) {
    const key = keyPath(issue.path);
    const top = String(issue.path[0]);
    failed.add(top);
    const missing = issue.path.length === 1 && input[top] === undefined;
    problems.push(missing ? `${key}: is required — ${requiredHint(key)}` : `${key}: ${issue.message}`);
  }
  problems.push(...crossCheckDespite(input, failed));
  throw new ConfigError(problems);
}

/** Stand-ins for keys that failed, so that the rules spanning keys still check the rest. */
const STAND_INS: Record<string, unknown> = {
  domain: "stand-in.invalid", zoneId: "stand-in",
  sshSourceRanges: ["192.0.2.0/32"], "gcp:project": "stand-in", "gcp:zone": "stand-in1-a",
  "cloudflare:apiToken": "stand-in",
};

/** The cross-key problems of the keys that passed, reported together with the keys that did not. */
function crossCheckDespite(input: Record<string, unknown>, failed: Set<string>): string[] {
  const repaired = Object.fromEntries(Object.entries(input).filter(([k]) => !failed.has(k)));
  for (const k of failed) if (k in STAND_INS) repaired[k] = STAND_INS[k];
  const retry = schema.safeParse(repaired);
  if (!retry.success) return [];
  const related = (p: string) => [...failed].some((k) => p.startsWith(keyPath([k]))) || p.includes("stand-in");
  return crossCheck(complete(retry.data), retry.data).filter((p) => !related(p));
}

function requiredHint(key: string): string {
  const secret = SECRET_KEYS.includes(key) ? "--secret " : "";
  return `set it with pulumi config set ${secret}${key} <value>`;
}

function complete(p: Parsed): MailStackConfig {
  const domains = [{ name: p.domain, zoneId: p.zoneId }, ...p.extraDomains];
  const firstUser = p.users[0]?.address;
  const configured = new Set(p.aliases.map((a) => a.source));
  // RFC 2142: postmaster@ and abuse@ must exist for every domain; the first user gets them unless configured.
  const defaults: MailAlias[] = firstUser
    ? domains.flatMap((d) => ["postmaster", "abuse"].map((local) => `${local}@${d.name}`))
      .filter((source) => !configured.has(source) && !p.users.some((u) => u.address === source))
      .map((source) => ({ source, destinations: [firstUser] }))
    : [];
  const reportEmail = p.dmarcReportEmail ?? `postmaster@${p.domain}`;
  return {
    domain: p.domain,
    hostname: p.hostname ?? `mail.${p.domain}`,
    domains,
    users: p.users,
    aliases: [...p.aliases, ...defaults],
    relay: relayOf(p),
    dmarcPolicy: p.dmarcPolicy,
    dmarcReportEmail: reportEmail,
    spfAll: p.spfAll,
    dkimSelector: p.dkimSelector,
    dkimRetiredSelectors: p.dkimRetiredSelectors,
    dnsTtl: p.dnsTtl,
    extraRecords: p.extraRecords,
    sshSourceRanges: p.sshSourceRanges,
    sshViaIap: p.sshViaIap,
    iapTunnelPort: p.iapTunnelPort,
    machineType: p.machineType,
    image: p.image,
    // The schema refused any image without a release.
    release: debianReleaseOf(p.image) ?? DEFAULT_RELEASE,
    bootDiskSizeGb: p.bootDiskSizeGb,
    dataDiskSizeGb: p.dataDiskSizeGb,
    snapshotRetentionDays: p.snapshotRetentionDays,
    protectData: p.protectData,
    ptr: p.ptr,
    tls: p.tls,
    acmeServer: p.acmeServer,
    acmeEmail: p.acmeEmail ?? reportEmail,
    messageSizeLimitMb: p.messageSizeLimitMb,
    spam: {
      junkScore: p.spamJunkScore, rejectScore: p.spamRejectScore, greylisting: p.greylisting,
      greylistDelaySeconds: p.greylistDelaySeconds,
    },
    mailboxQuotaMb: p.mailboxQuotaMb,
    deployUser: p.deployUser,
    mtaSts: { mode: p.mtaStsMode, maxAge: p.mtaStsMaxAge },
    caaIssuer: p.caaIssuer ?? (p.tls === "acme" ? letsEncryptIssuer(p.acmeServer) ?? "" : ";"),
    gcp: {
      project: p["gcp:project"],
      zone: p["gcp:zone"],
      region: p["gcp:region"] ?? p["gcp:zone"].replace(/-[a-z]$/, ""),
    },
    snapshotLocation: p.snapshotLocation ?? defaultSnapshotLocation(p["gcp:region"] ?? p["gcp:zone"].replace(/-[a-z]$/, "")),
    ...(p.dataDiskSnapshot ? { dataDiskSnapshot: p.dataDiskSnapshot } : {}),
    ...(p.alertEmail === undefined ? {} : { alertEmail: p.alertEmail }),
    dnssec: p.dnssec,
    tlsKey: p.tlsKey,
    ...(p.tlsNextKey === undefined ? {} : { tlsNextKey: p.tlsNextKey }),
    abuse: {
      banAfterFailures: p.banAfterFailures,
      banMinutes: p.banMinutes,
      exemptRanges: p.abuseExemptRanges,
      sendLimitPerHour: p.sendLimitPerHour,
    },
    maintenanceWindow: p.maintenanceWindow,
  };
}

/** The relay as configured: the Mailgun API mode when an API key is set, else the hand-typed login. */
function relayOf(p: Parsed): MailStackConfig["relay"] {
  const mailgun = p.mailgunApiKey === undefined ? undefined : mailgunSettings({
    apiKey: p.mailgunApiKey, region: p.mailgunRegion, domain: p.mailgunDomain ?? `mg.${p.domain}`,
    generation: p.mailgunCredentialGeneration, apiUrl: p.mailgunApiUrl,
  });
  if (mailgun) return { host: p.relayHost ?? mailgun.smtpHost, port: p.relayPort, username: mailgun.login, mailgun };
  return {
    host: p.relayHost ?? "smtp.mailgun.org", port: p.relayPort, username: p.relayUsername ?? "",
    ...(p.relayPassword === undefined ? {} : { password: p.relayPassword }),
  };
}

/** The hosted domain whose zone holds a name (the longest match), or undefined. */
export function zoneOf(c: Pick<MailStackConfig, "domains">, name: string): MailDomain | undefined {
  return c.domains.filter((d) => name === d.name || name.endsWith(`.${d.name}`)).sort((a, b) => b.name.length - a.name.length)[0];
}

/** Let's Encrypt's CAA identifier for its directories (production and staging), else undefined. */
function letsEncryptIssuer(acmeServer: string): string | undefined {
  const host = new URL(acmeServer).hostname;
  return host === "api.letsencrypt.org" || host.endsWith(".api.letsencrypt.org") ? "letsencrypt.org" : undefined;
}

/**
 * The Cloud Storage multi-region on the VM's continent: the snapshots survive the loss of the VM's region and
 * stay in the same jurisdiction (EU mail stays in the EU). Regions outside the three multi-regions (us, eu,
 * asia) keep them in their own region, still apart from the disk.
 */
export function defaultSnapshotLocation(region: string): string {
  if (/^(us|northamerica|southamerica)-/.test(region)) return "us";
  if (region.startsWith("europe-")) return "eu";
  if (region.startsWith("asia-")) return "asia";
  return region;
}

/**
 * Postfix's queue_minfree: free space below which smtpd answers 452 4.3.1 to MAIL FROM. Without it smtpd's floor
 * is 1.5 × message_size_limit (postconf(5); measured in the lab: 250 with 2.5 × free, 452 with 0.75 ×), room for
 * about one message. smtpd checks once per MAIL FROM, so several sessions can pass at once and each write up to
 * the limit, and a message being delivered exists twice (queue file and mailbox copy) until delivery ends:
 * 4 × the limit (100 MB for 25 MB) keeps room for that.
 */
export const QUEUE_MINFREE_FACTOR = 4;
export function queueMinfreeBytes(c: Pick<MailStackConfig, "messageSizeLimitMb">): number {
  return QUEUE_MINFREE_FACTOR * c.messageSizeLimitMb * 1024 * 1024;
}

/** Rules that span several keys. */
function crossCheck(c: MailStackConfig, p: Parsed): string[] {
  const problems: string[] = [...relayModeProblems(p)];
  const hosted = new Set(c.domains.map((d) => d.name));
  const sending = c.relay.mailgun?.domain;
  if (sending !== undefined && zoneOf(c, sending) === undefined) {
    problems.push(`mailserver:mailgunDomain: ${sending} is not inside a hosted domain (${[...hosted].join(", ")}) — its DNS records need one of their zones; use e.g. mg.${c.domain}`);
  }
  const hostedList = [...hosted].join(", ");

  c.domains.forEach((d, i) => {
    if (c.domains.findIndex((o) => o.name === d.name) !== i) {
      problems.push(`mailserver:extraDomains[${i - 1}].name: ${d.name} is already hosted — remove the duplicate`);
    }
  });

  const seen = new Map<string, number>();
  c.users.forEach((u, i) => {
    const key = `mailserver:users[${i}]`;
    if (!hosted.has(domainOf(u.address))) {
      problems.push(`${key}.address: ${u.address} is not in a hosted domain (${hostedList}) — use one of them or add the domain to mailserver:extraDomains`);
    }
    const first = seen.get(u.address);
    if (first !== undefined) {
      problems.push(`${key}.address: ${u.address} is already mailserver:users[${first}] — remove the duplicate`);
    } else seen.set(u.address, i);
    if (u.password === undefined && u.passwordHash === undefined) {
      problems.push(`${key}: has neither password nor passwordHash — set one (a password is hashed for you)`);
    }
    if (u.password !== undefined && u.passwordHash !== undefined) {
      problems.push(`${key}: has both password and passwordHash — keep only one`);
    }
    if (u.passwordHash !== undefined && !ACCEPTED_HASH_SCHEMES.includes(hashScheme(u.passwordHash) ?? "")) {
      problems.push(`${key}.passwordHash: scheme ${hashScheme(u.passwordHash) ?? "(none)"} is not accepted — use ${ACCEPTED_HASH_SCHEMES.join(" or ")}, e.g. the output of doveadm pw -s ARGON2ID`);
    }
  });

  const aliasIndex = new Map<string, number>();
  p.aliases.forEach((a, i) => {
    const key = `mailserver:aliases[${i}]`;
    if (!hosted.has(domainOf(a.source))) {
      problems.push(`${key}.source: ${a.source} is not in a hosted domain (${hostedList}) — use one of them`);
    }
    if (aliasIndex.has(a.source)) {
      problems.push(`${key}.source: ${a.source} is already mailserver:aliases[${aliasIndex.get(a.source)}] — merge their destinations`);
    } else aliasIndex.set(a.source, i);
    if (seen.has(a.source)) {
      problems.push(`${key}.source: ${a.source} is also a mailbox (mailserver:users[${seen.get(a.source)}]) — remove the alias or the user`);
    }
    if (a.destinations.includes("discard") && a.destinations.length > 1) {
      problems.push(`${key}.destinations: discard cannot be combined with other destinations — use discard alone`);
    }
    a.destinations.forEach((d, j) => {
      if (d !== "discard" && hosted.has(domainOf(d)) && !seen.has(d) && !p.aliases.some((o) => o.source === d)) {
        problems.push(`${key}.destinations[${j}]: ${d} is in a hosted domain but is neither a user nor an alias — mail to it would bounce; add the user or fix the address`);
      }
    });
  });
  const loop = findAliasLoop(p.aliases);
  if (loop) {
    problems.push(`mailserver:aliases: ${loop.join(" → ")} is a loop — break it so that every alias ends at a mailbox, an outside address or discard`);
  }

  c.sshSourceRanges.forEach((r, i) => {
    const key = `mailserver:sshSourceRanges[${i}]`;
    const cidr = parseCidr(r);
    if (!cidr) problems.push(`${key}: ${r} is not a CIDR block — write it as address/prefix, e.g. 203.0.113.4/32`);
    else if (cidr.prefix === 0) problems.push(`${key}: ${r} opens SSH to the whole Internet — list only your admins' ranges`);
  });

  const retired = new Map<string, number>();
  c.dkimRetiredSelectors.forEach((s, i) => {
    const key = `mailserver:dkimRetiredSelectors[${i}]`;
    if (s === c.dkimSelector) {
      problems.push(`${key}: ${s} is the current mailserver:dkimSelector — list only selectors you moved away from`);
    }
    const first = retired.get(s);
    if (first !== undefined) problems.push(`${key}: ${s} is already mailserver:dkimRetiredSelectors[${first}] — remove the duplicate`);
    else retired.set(s, i);
  });

  if (c.spam.junkScore >= c.spam.rejectScore) {
    problems.push(`mailserver:spamJunkScore: ${c.spam.junkScore} is not below mailserver:spamRejectScore (${c.spam.rejectScore}) — nothing would ever be filed into Junk; set it lower, e.g. 6 with 15`);
  }
  // A quota larger than the data disk protects nothing: the disk fills first and delivery fails for everyone.
  const diskMb = c.dataDiskSizeGb * 1024;
  if (c.mailboxQuotaMb > diskMb) {
    problems.push(`mailserver:mailboxQuotaMb: ${c.mailboxQuotaMb} MB is more than the data disk (${diskMb} MB) — lower it or grow mailserver:dataDiskSizeGb`);
  }
  c.users.forEach((u, i) => {
    if (u.quotaMb !== undefined && u.quotaMb > diskMb) {
      problems.push(`mailserver:users[${i}].quotaMb: ${u.quotaMb} MB is more than the data disk (${diskMb} MB) — lower it or grow mailserver:dataDiskSizeGb`);
    }
  });

  // Reports to a hosted address that is neither a mailbox nor an alias would bounce, unseen. A +tag is
  // delivered to the address without it (the recipient delimiter). A server without users (a fresh test
  // stack) receives no mail at all: only an address set on purpose is held to this there.
  const report = c.dmarcReportEmail;
  const reportBase = report.replace(/\+[^@]*@/, "@");
  if ((p.dmarcReportEmail !== undefined || c.users.length > 0) && hosted.has(domainOf(report))
    && !seen.has(reportBase) && !c.aliases.some((a) => a.source === reportBase)) {
    problems.push(`mailserver:dmarcReportEmail: ${report} is in a hosted domain but is neither a user nor an alias, so DMARC and TLS-RPT reports to it would bounce — add it to mailserver:users or mailserver:aliases, or name an address that receives mail`);
  }

  if (c.caaIssuer === "") {
    problems.push(`mailserver:caaIssuer: is required when mailserver:acmeServer (${c.acmeServer}) is not Let's Encrypt — set the CA's CAA identifier from its documentation (e.g. sectigo.com), or the CAA records would forbid it to issue`);
  }
  // The data disk also holds the Postfix queue: a reserve of more than a tenth of it would refuse mail early.
  if (c.messageSizeLimitMb * QUEUE_MINFREE_FACTOR * 10 > diskMb) {
    problems.push(`mailserver:messageSizeLimitMb: ${c.messageSizeLimitMb} MB needs ${c.messageSizeLimitMb * QUEUE_MINFREE_FACTOR} MB kept free on the data disk ` +
      `(Postfix queue_minfree), more than a tenth of it (${diskMb} MB) — lower messageSizeLimitMb or grow mailserver:dataDiskSizeGb`);
  }
  // An alert about a broken server must not depend on that server delivering it.
  const alertDomain = c.alertEmail === undefined ? undefined : domainOf(c.alertEmail);
  const alertZone = alertDomain === undefined ? undefined
    : c.domains.find((d) => alertDomain === d.name || alertDomain.endsWith(`.${d.name}`));
  if (alertZone) {
    problems.push(`mailserver:alertEmail: ${c.alertEmail} is in the hosted domain ${alertZone.name}, which a broken server could not deliver to — use an address hosted elsewhere, e.g. your personal mailbox`);
  }
  if (c.tlsNextKey !== undefined && c.tlsNextKey === c.tlsKey) {
    problems.push(`mailserver:tlsNextKey: ${c.tlsNextKey} is the current mailserver:tlsKey — name the next key differently, e.g. k2, or remove tlsNextKey`);
  }
  c.abuse.exemptRanges.forEach((r, i) => {
    const key = `mailserver:abuseExemptRanges[${i}]`;
    const cidr = parseCidr(r);
    if (r.includes("%")) problems.push(`${key}: ${r} has an IPv6 zone id (%…), which names an interface of one machine and breaks fail2ban's ignoreip — drop the %… part, e.g. fe80::/64`);
    else if (!cidr) problems.push(`${key}: ${r} is not a CIDR block — write it as address/prefix, e.g. 198.51.100.7/32`);
    else if (cidr.prefix === 0) problems.push(`${key}: ${r} exempts the whole Internet, which turns the bans and client limits off — list only your own ranges (an office, a monitoring probe)`);
  });

  // Every name we publish must fit DNS (RFC 1035: 253 characters): the longest under a domain are
  // <selector>._domainkey.<domain> and _submissions._tcp.<domain> (records.ts), under the hostname _25._tcp.<hostname> (dane.ts).
  const prefix = Math.max(SRV_PREFIX.length, ...dkimSelectors(c).map((s) => `${s}._domainkey.`.length));
  c.domains.forEach((d, i) => {
    if (d.name.length + prefix > MAX_DNS_NAME) {
      const key = i === 0 ? "mailserver:domain" : `mailserver:extraDomains[${i - 1}].name`;
      problems.push(`${key}: ${d.name} is ${d.name.length} characters, too long for the names published under it (DNS allows ${MAX_DNS_NAME}, and ${prefix} go to prefixes such as _submissions._tcp.) — use a domain of at most ${MAX_DNS_NAME - prefix} characters${prefix > SRV_PREFIX.length ? " or shorter DKIM selectors" : ""}`);
    }
  });
  // RFC 7489 §7.1: a report address in another hosted domain needs <domain>._report._dmarc.<its domain> (records.ts).
  const reportDomain = domainOf(c.dmarcReportEmail);
  if (c.domains.some((d) => reportDomain === d.name || reportDomain.endsWith(`.${d.name}`))) {
    for (const d of c.domains.filter((x) => !sameOrganisation(x.name, reportDomain))) {
      const name = `${d.name}._report._dmarc.${reportDomain}`;
      if (name.length > MAX_DNS_NAME) {
        problems.push(`mailserver:dmarcReportEmail: ${c.dmarcReportEmail} needs the record ${name} so that ${d.name}'s reports may go there, and it is ${name.length} characters (DNS allows ${MAX_DNS_NAME}) — use a report address with a shorter domain`);
      }
    }
  }
  if (c.hostname.length + TLSA_PREFIX.length > MAX_DNS_NAME) {
    problems.push(`mailserver:hostname: ${c.hostname} is ${c.hostname.length} characters, too long for its DANE record ${TLSA_PREFIX}<hostname> (DNS allows ${MAX_DNS_NAME}) — use a hostname of at most ${MAX_DNS_NAME - TLSA_PREFIX.length} characters`);
  }

  const hostnameZone = c.domains.find((d) => c.hostname === d.name || c.hostname.endsWith(`.${d.name}`));
  if (!hostnameZone) {
    problems.push(`mailserver:hostname: ${c.hostname} is not inside a hosted domain (${hostedList}) — its A record needs one of their zones; use e.g. mail.${c.domain}`);
  }
  return problems;
}
