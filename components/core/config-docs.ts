// What each configuration key means, for people: the description, an example and, where the default is
// derived from other keys, how. Types, defaults and secretness come from the schema (config.ts);
// scripts/generate-config.ts writes both Pulumi.yaml's `config:` block and docs/configuration.md from the two.
// An entry without its key does not compile; the generator refuses a key without its entry.
import type { ConfigKeyName } from "./config";

export interface KeyDoc {
  /** Markdown, one paragraph; links are relative to docs/. Pulumi.yaml gets it with the links flattened. */
  description: string;
  /** A value as a stack file would hold it. */
  example: unknown;
  /** How an empty key is filled in, when not by a fixed default. */
  derived?: string;
}

export interface KeyGroup { title: string; keys: Partial<Record<ConfigKeyName, KeyDoc>> }

export const KEY_GROUPS = [
  {
    title: "Domains and DNS",
    keys: {
      domain: { description: "Primary mail domain.", example: "example.com" },
      zoneId: { description: "Cloudflare zone id of `domain` (dashboard → zone → Overview).", example: "0123456789abcdef0123456789abcdef" },
      hostname: {
        description: "Server FQDN: A record, MX target, HELO name, certificate name, PTR; must lie inside a hosted domain.",
        example: "mail.example.com", derived: "`mail.<domain>`",
      },
      extraDomains: {
        description: "More hosted mail domains, each in its own Cloudflare zone.",
        example: [{ name: "example.org", zoneId: "fedcba9876543210fedcba9876543210" }],
      },
      dnsTtl: { description: "TTL of the records in seconds: 1 (Cloudflare automatic) or 60–86400.", example: 3600 },
      extraRecords: {
        description: "Records added as they are, e.g. Mailgun's own DKIM record. `ttl` is 1 or 60–86400 as for `dnsTtl` " +
          "(default `dnsTtl`); name and content are one line each.",
        example: [{ zoneId: "0123456789abcdef0123456789abcdef", name: "www", type: "CNAME", content: "example.github.io" }],
      },
      ptr: { description: "Set reverse DNS of the IP to the hostname (needs the domain verified for the deploying identity).", example: true },
    },
  },
  {
    title: "Mailboxes and aliases",
    keys: {
      users: {
        description: "Mailboxes. `quotaMb` overrides `mailboxQuotaMb` for this user (0: unlimited; at most the data disk), " +
          "`sendLimitPerHour` overrides `sendLimitPerHour` (0: unlimited). The address is also the IMAP/POP3/SMTP login, so " +
          "its local part may hold only what Dovecot's `auth_username_chars` accepts: letters, digits, `.`, `-`, `_` (no `+`, " +
          "which is the recipient delimiter: `alice+tag@` is delivered to `alice@`), and must start with a letter or digit. " +
          "A plain password (set it with `pulumi config set --secret --path 'mailserver:users[0].password'`; the list itself " +
          "stays plain, since the CLI refuses a whole list set as one secret string for this list-typed key) is hashed by " +
          "us (ARGON2ID) and never reaches the server; it is used exactly as given, never trimmed. A `passwordHash` must be " +
          "`{ARGON2ID}`, `{ARGON2I}`, `{SHA512-CRYPT}` or `{BLF-CRYPT}` (e.g. from `doveadm pw -s ARGON2ID`) and hold no `:` or whitespace.",
        example: [{ address: "alice@example.com", passwordHash: "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$…", quotaMb: 4096 }],
      },
      aliases: {
        description: "Forwards; the destination `discard` drops the mail (for no-reply@). A source `@<hosted domain>` is that " +
          "domain's catch-all (see [Filtering, spam and quotas](filtering.md#filtering-spam-and-quotas)); off unless configured. " +
          "postmaster@ and abuse@ are added for every domain, to the first user, unless you set them. Loops are refused. A source " +
          "may not contain `+` or start with `#` (a comment in Postfix maps); an outside destination is any plain address not starting with `#`.",
        example: [{ source: "no-reply@example.com", destinations: ["discard"] }, { source: "team@example.com", destinations: ["alice@example.com", "bob@example.com"] }],
      },
      mailboxQuotaMb: {
        description: "Every mailbox's quota in MB (0: unlimited; at most the data disk); a message that would exceed it is refused " +
          "at RCPT with `552 5.2.2`, and the user is warned at 80% and 90%.",
        example: 10240,
      },
      messageSizeLimitMb: {
        description: "Largest message accepted, in MB; Postfix keeps 4 × this free on the data disk (`queue_minfree`), which may be at most a tenth of the disk.",
        example: 50,
      },
    },
  },
  {
    title: "Outbound relay",
    keys: {
      relayHost: {
        description: "Outbound relay (GCE blocks outbound port 25).", example: "smtp.eu.mailgun.org",
        derived: "`smtp.mailgun.org`; with `mailgunApiKey`, the SMTP host of `mailgunRegion` (`smtp.eu.mailgun.org` for `eu`)",
      },
      relayPort: { description: "Outbound relay port (TLS is required to the relay).", example: 587 },
      relayUsername: {
        description: "The hand-typed relay login (a Mailgun SMTP login, or another relay's): no `:` or whitespace (`sasl_passwd` holds " +
          "`nexthop user:password`). Required with `relayPassword` unless `mailgunApiKey` is set; refused together with it.",
        example: "postmaster@mg.example.com",
      },
      relayPassword: {
        description: "The hand-typed relay password, used exactly as given (never trimmed); set it with `pulumi config set --secret mailserver:relayPassword` " +
          "(a plain value is refused). A value `sasl_passwd` cannot carry is refused: a control character (newline, tab) or leading/trailing " +
          "whitespace (postmap strips it). Refused together with `mailgunApiKey`.",
        example: { secure: "v1:…" },
      },
      mailgunApiKey: {
        description: "A Mailgun API key: the stack then creates (or adopts) the sending domain `mailgunDomain`, publishes the DNS records " +
          "Mailgun asks for, waits for Mailgun to verify them, and creates the SMTP credential the server relays with, its password " +
          "generated and kept only as a secret (see [Mailgun from the stack](mailgun.md#mailgun-from-the-stack)). Set it with " +
          "`pulumi config set --secret mailserver:mailgunApiKey` (a plain value is refused); refused together with `relayUsername`/`relayPassword`.",
        example: { secure: "v1:…" },
      },
      mailgunRegion: { description: "Where the Mailgun account keeps its data: the API and SMTP hosts (`us` or `eu`). Only with `mailgunApiKey`.", example: "eu" },
      mailgunDomain: {
        description: "The Mailgun sending domain (the return path of relayed mail): inside a hosted domain's zone, which gets its records. " +
          "An existing domain is adopted and kept on destroy; one the stack created is deleted with the stack. Only with `mailgunApiKey`.",
        example: "mg.example.com", derived: "`mg.<domain>`",
      },
      mailgunCredentialGeneration: {
        description: "Raise it by one to rotate the SMTP credential: a new login and password are created, the server switches to them, " +
          "and the old credential is deleted once the deploy has applied. Only with `mailgunApiKey`.",
        example: 2,
      },
      mailgunApiUrl: {
        description: "The Mailgun API's address instead of the region's, for a Mailgun-compatible endpoint (the lab's stand-in). `https://` only: " +
          "every request carries the API key. An endpoint whose certificate a private CA signed is trusted by running `pulumi up` with " +
          "`NODE_EXTRA_CA_CERTS=<the CA's PEM file>`. Only with `mailgunApiKey`.",
        example: "https://api.eu.mailgun.net", derived: "the region's (`https://api.mailgun.net`, `https://api.eu.mailgun.net`)",
      },
    },
  },
  {
    title: "Sender authentication: SPF, DKIM, DMARC",
    keys: {
      spfAll: { description: "SPF verdict for everyone else.", example: "-all" },
      dkimSelector: {
        description: "The DKIM selector that signs; each selector has its own key per domain, so a new selector is a new key " +
          "(see [Rotating the DKIM key](dns.md#rotating-the-dkim-key)).",
        example: "s2",
      },
      dkimRetiredSelectors: {
        description: "Former selectors whose keys stay in state and whose records stay published (they no longer sign); remove an " +
          "entry after the grace period. Each must differ from `dkimSelector`.",
        example: ["s1"],
      },
      dmarcPolicy: { description: "DMARC policy: move to `reject` once the reports show only your own mail.", example: "reject" },
      dmarcReportEmail: {
        description: "Where DMARC aggregate and TLS-RPT reports go (`rua=mailto:` of both records); letters, digits and `. _ + -` " +
          "only before the `@`. An address in a hosted domain must be a user or an alias, or it is refused (the reports would " +
          "bounce): the default `postmaster@` is the RFC 2142 alias to the first user unless you set an alias for it.",
        example: "dmarc@example.com", derived: "`postmaster@<domain>`",
      },
    },
  },
  {
    title: "TLS, MTA-STS, CAA and DANE",
    keys: {
      tls: {
        description: "How the server gets its certificate (ACME: certbot, HTTP-01) for the stack's TLS key; renewed by " +
          "`mailserver-tls-renew.timer` with the same key (see [DNSSEC and DANE](dns.md#dnssec-and-dane)).",
        example: "self-signed",
      },
      acmeServer: { description: "ACME directory (an `https://` URL).", example: "https://acme-staging-v02.api.letsencrypt.org/directory" },
      acmeEmail: {
        description: "ACME account e-mail; letters, digits and `. _ + -` only before the `@`, and no `-` first.",
        example: "hostmaster@example.com", derived: "`dmarcReportEmail`",
      },
      caaIssuer: {
        description: "The one CA the CAA records allow (their `issue` value); required when `acmeServer` is another CA (use its documented CAA identifier).",
        example: "sectigo.com", derived: "`letsencrypt.org` for a Let's Encrypt `acmeServer`, none (`;`) for `self-signed`",
      },
      mtaStsMode: {
        description: "MTA-STS policy of every hosted domain (see [Inbound TLS: MTA-STS, CAA](dns.md#inbound-tls-mta-sts-caa)): " +
          "`testing` only asks senders for TLS-RPT reports, `enforce` makes them refuse to deliver without a valid certificate " +
          "for the hostname, `none` withdraws the policy (keep it published for `mtaStsMaxAge` before removing anything).",
        example: "enforce",
      },
      mtaStsMaxAge: { description: "How long senders cache the MTA-STS policy, 86400–31557600 seconds.", example: 1209600 },
      dnssec: {
        description: "Cloudflare signs every hosted zone (`ZoneDnssec`), and the DANE TLSA record `_25._tcp.<hostname>` is " +
          "published; give the registrar the DS records of the output `dnssecDs` (see [DNSSEC and DANE](dns.md#dnssec-and-dane)).",
        example: true,
      },
      tlsKey: { description: "Name of the server's TLS key (ECDSA P-256, made and kept by the stack); a new name is a new key.", example: "k2" },
      tlsNextKey: {
        description: "A next TLS key whose TLSA record is published beside the current one before it serves: the first step of a " +
          "[key rollover](dns.md#rolling-the-tls-key); must differ from `tlsKey`.",
        example: "k2", derived: "none",
      },
    },
  },
  {
    title: "Filtering and abuse limits",
    keys: {
      spamJunkScore: {
        description: "Inbound mail whose rspamd score reaches this is filed into Junk (rspamd's `add_header`); must be below " +
          "`spamRejectScore` (see [Filtering, spam and quotas](filtering.md#filtering-spam-and-quotas)).",
        example: 5,
      },
      spamRejectScore: { description: "Inbound mail whose score reaches this is refused at SMTP time (`554 5.7.1`).", example: 12 },
      greylisting: {
        description: "Defer suspicious mail (score 4 or more, below the Junk score at most) from a sender seen for the first time, " +
          "once; uses the local redis (always installed, for learning). Off by default: it delays first mail by minutes.",
        example: true,
      },
      greylistDelaySeconds: {
        description: "With greylisting, how long a deferred sender must wait before the retry of the same message is accepted (rspamd's `timeout`; 10–3600).",
        example: 600,
      },
      banAfterFailures: {
        description: "Failed logins (SMTP AUTH, IMAP, POP3, ManageSieve) from one address within 10 minutes before fail2ban bans " +
          "it from the mail ports; 3–100 (see [Abuse limits](security.md#abuse-limits)).",
        example: 10,
      },
      banMinutes: { description: "How long a fail2ban ban lasts, 1–525600 minutes.", example: 1440 },
      abuseExemptRanges: {
        description: "CIDR ranges, IPv4 or IPv6, never banned by fail2ban and never throttled by Postfix's per-client limits " +
          "(an office behind one NAT address, a monitoring probe); they still must log in, and the sending limit still applies. " +
          "A prefix of 0 and an IPv6 zone id (`%eth0`) are refused.",
        example: ["198.51.100.7/32", "2001:db8:1::/48"],
      },
      sendLimitPerHour: {
        description: "Recipients each login may send to per hour on submission (0: unlimited); above it `450 4.7.1`. Mail to the login's own mailbox is not counted. " +
          "`users[].sendLimitPerHour` overrides it per user.",
        example: 500,
      },
    },
  },
  {
    title: "The VM and its access",
    keys: {
      machineType: { description: "GCE machine type (changing it stops and restarts the VM; the data disk stays).", example: "e2-medium" },
      image: {
        description: "Boot image family (or one image of it); its Debian release chooses the daemons' configuration. New stacks " +
          "set `debian-cloud/debian-13` (`Pulumi.prod.yaml.example` and the lab do). The default, `debian-cloud/debian-12`, keeps " +
          "a stack made before Debian 13 was supported on its release, unchanged. Changing the release replaces the VM, which " +
          "keeps the address and the data disk with the mail, the queue and what rspamd learned (README, \"Moving to Debian 13\"); " +
          "a newer image of the same family changes nothing.",
        example: "debian-cloud/debian-13",
      },
      bootDiskSizeGb: {
        description: "Boot disk in GB, 10 or more (the Debian 12 image's size). A larger value resizes the disk on the running VM " +
          "(terraform-provider-google updates it in place since 7.22), then grows the root partition and filesystem online " +
          "(`growpart`, `resize2fs`; no restart). GCE refuses a smaller one.",
        example: 20,
      },
      maintenanceWindow: {
        description: "When the VM may reboot by itself after a security update that requires it (a new kernel), `HH:MM-HH:MM` in UTC, " +
          "may span midnight; mail is queued meanwhile (see [Security updates](operations.md#security-updates-and-the-maintenance-window)).",
        example: "02:00-03:00",
      },
      deployUser: {
        description: "The non-root user with passwordless sudo that the deploy uses over SSH; never `root` nor an account the VM " +
          "already has or its daemons use (`vmail`, `www-data`, `postfix`, …).",
        example: "deploy",
      },
      sshSourceRanges: { description: "CIDR ranges that may reach SSH; `0.0.0.0/0` and `::/0` are refused.", example: ["198.51.100.7/32"] },
      sshViaIap: {
        description: "Deploy through Identity-Aware Proxy TCP forwarding: a firewall rule lets 35.235.240.0/20 (IAP's range) reach " +
          "port 22, and every deploy connects to `127.0.0.1:iapTunnelPort`, where `npm run iap-tunnel -- <stack>` must be running " +
          "(see [Reaching the VM from CI](environments.md#reaching-the-vm-from-ci)). Turning it on or off re-runs the remote commands once (their connection changes).",
        example: true,
      },
      iapTunnelPort: { description: "Local port of the IAP tunnel (1024–65535).", example: 2223 },
    },
  },
  {
    title: "Data, backups and alerts",
    keys: {
      dataDiskSizeGb: {
        description: "Mail data disk in GB; a larger value grows the disk and its filesystem online, a smaller one would replace " +
          "the disk (an empty one: production's `protect` refuses it).",
        example: 50,
      },
      protectData: {
        description: "Protect the data disk and the IP (Pulumi `protect`: `pulumi destroy` or a change that would replace them " +
          "stops at preview); test stacks set `false`. The VM holds no data and has no deletion protection: a change that " +
          "replaces it (another Debian release) is one deploy.",
        example: false,
      },
      snapshotRetentionDays: {
        description: "How long the daily snapshots of the data disk are kept (see [Backups and restore](operations.md#backups-and-restore)).",
        example: 30,
      },
      snapshotLocation: {
        description: "Where the data disk's snapshots are stored (`us`, `eu`, `asia` or a region): a multi-region survives the loss " +
          "of the VM's region and keeps the mail on the same continent (see [Backups and restore](operations.md#backups-and-restore)).",
        example: "eu",
        derived: "the multi-region of the VM's region (`europe-*` → `eu`, `us-*`/`northamerica-*`/`southamerica-*` → `us`, `asia-*` → `asia`, others their own region)",
      },
      dataDiskSnapshot: {
        description: "Restore: the data disk is replaced by one made from this snapshot, and the VM with it (see [Backups and restore](operations.md#backups-and-restore)); " +
          "removing the key later keeps the restored disk. With a new `gcp:zone` it moves the mail there " +
          "(see [Moving to another zone](operations.md#moving-to-another-zone)).",
        example: "mail-data-20260101", derived: "none",
      },
      alertEmail: {
        description: "Where alerts go: Cloud Monitoring's alert when a mail port stops answering (see [Alerts](operations.md#alerts)), " +
          "and the daily self-check mail when a check fails (see [Status checks](operations.md#status-checks)); must lie outside every " +
          "hosted domain, since a broken server could not deliver its own alert. Without it no uptime check, alert policy or channel " +
          "is created, and the self-check mails `postmaster@<domain>` on this server, which helps only while it still delivers.",
        example: "oncall@example.net", derived: "none",
      },
    },
  },
  {
    title: "Providers",
    keys: {
      "gcp:project": { description: "The Google Cloud project the VM lives in.", example: "my-mail-project" },
      "gcp:zone": { description: "The Compute Engine zone of the VM and its disks. A change needs `dataDiskSnapshot` with it: " +
        "see [Moving to another zone](operations.md#moving-to-another-zone).", example: "europe-west1-b" },
      "gcp:region": { description: "The region of the static IP and the relay secret.", example: "europe-west1", derived: "the zone's region" },
      "cloudflare:apiToken": {
        description: "Cloudflare API token with Zone.DNS edit on the hosted zones, used exactly as given (no control characters, no " +
          "leading/trailing whitespace); set it with `pulumi config set --secret cloudflare:apiToken`.",
        example: { secure: "v1:…" },
      },
    },
  },
] as const satisfies readonly KeyGroup[];
