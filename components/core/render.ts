// The configuration renderer: stack config + DKIM keys → every file the mail server needs, with the
// bytes, owner and mode it must have. Pure apart from reading the templates: the same input gives the
// same bytes (password salts derive from hostname and address), so a second preview shows no change.
import { createPrivateKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import Mustache from "mustache";
import { domainOf, isCatchAll, queueMinfreeBytes, type MailAlias, type MailStackConfig } from "./config";
import type { RenderedFile, Service } from "./files";
import { nginxView } from "./nginx";
import { abuseView } from "./abuse";
import { hashPassword } from "./passwords";
import { MAIL_HOME, RELAY_PASSWORD_PLACEHOLDER, TLS_CERT, TLS_KEY, VMAIL_ID } from "./layout";
import { SIEVE_SUBMIT_PORT } from "./ports";
import { DEBIAN_RELEASES, type DebianRelease } from "./release";

export interface RenderInput {
  config: MailStackConfig;
  /** Domain → PEM private key (PKCS#1 or PKCS#8 RSA, at least 2048 bits), one per hosted domain. */
  dkimPrivateKeys: Record<string, string>;
}

export const TEMPLATE_DIR = join(__dirname, "..", "..", "templates");

/** Aliases to `discard` point here; the transport map sends this pseudo-domain to discard(8). */
export const DISCARD_DOMAIN = "discard.invalid";
export const DISCARD_ADDRESS = `discard@${DISCARD_DOMAIN}`;

export const DKIM_KEY_DIR = "/etc/opendkim/keys";

/**
 * Users' Sieve scripts per user (ManageSieve PUTSCRIPT beyond it: NO (QUOTA)). A person's filters fit in a few
 * kilobytes; without a bound a PUTSCRIPT loop fills the disk that holds every mailbox and the queue.
 */
export const SIEVE_QUOTA = { maxScripts: 20, maxStorageBytes: 1024 * 1024 } as const;

/** Code-point order: unlike localeCompare, the same on every machine and locale. */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * rspamd keeps Debian's configuration and takes ours beside it, one file per module: local.d merges into
 * Debian's settings, override.d replaces them (needed where merging would append to a list).
 */
const RSPAMD_FILES = ["local.d/actions.conf", "local.d/arc.conf", "local.d/dkim_signing.conf", "local.d/dmarc.conf",
  "local.d/greylist.conf", "local.d/milter_headers.conf", "override.d/options.inc", "local.d/worker-normal.inc",
  "local.d/worker-proxy.inc", "local.d/classifier-bayes.conf"];

/** OpenDKIM's name on its own Authentication-Results header, which Postfix drops (milter_header_checks). */
export const OPENDKIM_AUTHSERV_ID = "opendkim.invalid";

type Meta = Omit<RenderedFile, "content" | "path">;
const plain = (service: Service, rebuild?: RenderedFile["rebuild"]): Meta => ({
  mode: "0644", owner: "root", group: "root", secret: false, service, ...(rebuild ? { rebuild } : {}),
});

/** Target path → template (relative to templates/) and file attributes. */
const FILES: Record<string, { template: string } & Meta> = {
  "/etc/postfix/main.cf": { template: "postfix/main.cf.mustache", ...plain("postfix") },
  "/etc/postfix/master.cf": { template: "postfix/master.cf.mustache", ...plain("postfix") },
  "/etc/postfix/virtual_mailbox_maps": { template: "postfix/virtual_mailbox_maps.mustache", ...plain("postfix", "postmap") },
  "/etc/postfix/virtual_alias_maps": { template: "postfix/virtual_alias_maps.mustache", ...plain("postfix", "postmap") },
  "/etc/postfix/sender_login_maps": { template: "postfix/sender_login_maps.mustache", ...plain("postfix", "postmap") },
  "/etc/postfix/transport": { template: "postfix/transport.mustache", ...plain("postfix", "postmap") },
  "/etc/postfix/hosted_sender_access": { template: "postfix/hosted_sender_access.mustache", ...plain("postfix", "postmap") },
  "/etc/postfix/submission_sender_access": { template: "postfix/submission_sender_access.mustache", ...plain("postfix", "postmap") },
  "/etc/postfix/submission_header_checks": { template: "postfix/submission_header_checks.mustache", ...plain("postfix") },
  // postmap gives sasl_passwd.db the mode and owner of its source: both stay root-only. Not a secret any
  // more: the staged file holds a placeholder that the apply replaces with the Secret Manager payload.
  "/etc/postfix/sasl_passwd": {
    template: "postfix/sasl_passwd.mustache", ...plain("postfix", "postmap"), mode: "0600",
  },
  "/etc/aliases": { template: "system/aliases.mustache", ...plain("postfix", "newaliases") },
  "/etc/dovecot/dovecot.conf": { template: "dovecot/dovecot.conf.mustache", ...plain("dovecot") },
  // Read by Dovecot's auth process, which runs as the dovecot user.
  "/etc/dovecot/users": {
    template: "dovecot/users.mustache", ...plain("dovecot"), mode: "0640", group: "dovecot", secret: true,
  },
  "/etc/opendkim.conf": { template: "opendkim/opendkim.conf.mustache", ...plain("opendkim") },
  "/etc/opendkim/KeyTable": { template: "opendkim/KeyTable.mustache", ...plain("opendkim") },
  "/etc/opendkim/setup.lua": { template: "opendkim/setup.lua.mustache", ...plain("opendkim") },
  "/etc/opendkim/final.lua": { template: "opendkim/final.lua.mustache", ...plain("opendkim") },
  "/etc/opendkim/TrustedHosts": { template: "opendkim/TrustedHosts.mustache", ...plain("opendkim") },
  "/etc/postfix/header_checks": { template: "postfix/header_checks.mustache", ...plain("postfix") },
  "/etc/postfix/milter_header_checks": { template: "postfix/milter_header_checks.mustache", ...plain("postfix") },
  "/etc/dovecot/sieve/junk.sieve": { template: "dovecot/junk.sieve.mustache", ...plain("dovecot", "sievec") },
  "/etc/dovecot/quota-warning.sh": { template: "dovecot/quota-warning.sh.mustache", ...plain("dovecot"), mode: "0755" },
  // Dovecot's sendmail_path: what Sieve sends for a user goes to Postfix's Sieve lane as that user.
  "/etc/dovecot/sieve-submit": { template: "dovecot/sieve-submit.py.mustache", ...plain("dovecot"), mode: "0755" },
  "/etc/nginx/nginx.conf": { template: "nginx/nginx.conf.mustache", ...plain("nginx") },
  // imapsieve: moving mail into or out of Junk teaches rspamd (sieve_pipe_bin_dir holds the one program).
  "/etc/dovecot/sieve/learn-spam.sieve": { template: "dovecot/learn-spam.sieve.mustache", ...plain("dovecot", "sievec") },
  "/etc/dovecot/sieve/learn-ham.sieve": { template: "dovecot/learn-ham.sieve.mustache", ...plain("dovecot", "sievec") },
  "/etc/dovecot/sieve-pipe/rspamd-learn": { template: "dovecot/rspamd-learn.sh.mustache", ...plain("dovecot"), mode: "0755" },
  ...Object.fromEntries(RSPAMD_FILES.map((name) => [`/etc/rspamd/${name}`, {
    template: `rspamd/${name.split("/")[1]}.mustache`, ...plain("rspamd"),
  }])),  // Abuse limits (docs/security.md, "Abuse limits"): fail2ban's jails and filter, the per-login sending limit.
  "/etc/fail2ban/jail.d/mailserver.local": { template: "fail2ban/jail.local.mustache", ...plain("fail2ban") },
  "/etc/fail2ban/filter.d/mailserver-dovecot-auth.conf": {
    template: "fail2ban/mailserver-dovecot-auth.conf.mustache", ...plain("fail2ban"),
  },
  // As Debian's package sets it: the daemon reads it as root before it drops to its own user.
  "/etc/policyd-rate-limit.yaml": {
    template: "ratelimit/policyd-rate-limit.yaml.mustache", ...plain("policyd-rate-limit"), mode: "0640", group: "policyd-rate-limit",
  },
};

/**
 * Dovecot 2.4 (Debian 13) has another configuration language (doc.dovecot.org/2.4.1, installation/upgrade/
 * 2.3-to-2.4): these files are written anew for it; every other template serves both releases.
 */
const DOVECOT_24_TEMPLATES: Record<string, string> = {
  "dovecot/dovecot.conf.mustache": "dovecot/dovecot-2.4.conf.mustache",
  "dovecot/users.mustache": "dovecot/users-2.4.mustache",
};

const templateFor = (template: string, release: DebianRelease): string =>
  (DEBIAN_RELEASES[release].dovecot === "2.4" ? DOVECOT_24_TEMPLATES[template] : undefined) ?? template;

/** What the shared templates (main.cf, sieve-submit, quota-warning.sh) differ in between releases. */
function releaseView(release: DebianRelease) {
  const { postfix: postfixVersion, dovecot: dovecotVersion, postfixUnit, sendLimitStage } = DEBIAN_RELEASES[release];
  // main.cf, master.cf and policyd-rate-limit.yaml: where the per-login sending limit is asked (release.ts).
  const sendLimitAtData = sendLimitStage === "DATA";
  // main.cf's first lines name the Postfix they are written for.
  const postfixRelease = `Postfix ${postfixVersion} (Debian ${release})`;
  return release === 12
    ? {
      sendLimitAtData, postfixRelease,
      dovecotVersion, dovecotLoginVariable: "%u", ldaNoQuota: "plugin/quota=count:User quota:noenforcing",
      postfixUnit, postfixUnitNote: "Debian runs Postfix as postfix@-.service, not the postfix.service the filter names.",
      // fail2ban: "auth: passwd-file(<user>,<ip>,<session>): Password mismatch" (tests/fixtures/logs/dovecot.log).
      dovecotAuthFailure: "auth: passwd-file\\([^,]*,<HOST>(?:,[^)]*)?\\): (?:unknown user|Password mismatch)\\b",
    }
    : {
      sendLimitAtData, postfixRelease,
      // 2.4 moved the user and address into the process's prefix: "auth(<user>,<ip>,sasl:plain)<session>: passwd-file:
      // Password mismatch", as Debian 13's Dovecot logs it (tests/daemons/trixie.test.ts); a login through imap-login
      // or Postfix carries the session id, doveadm auth test none.
      dovecotAuthFailure: "auth\\([^,]*,<HOST>(?:,[^)]*)?\\)(?:<[^>]*>)?: passwd-file: (?:unknown user|Password mismatch)\\b",
      // Postfix 3.10's RFC 8689 support: main.cf turns it off.
      postfixTlsRequiredHeader: true,
      postfixUnit, postfixUnitNote: "Debian 13 runs Postfix as postfix.service (Debian 12 ran it as postfix@-.service).",
      dovecotVersion,
      dovecotLoginVariable: "%{user}",
      ldaNoQuota: "quota_enforce=no",
      // Mail moved from Debian 12 stays readable by its Dovecot 2.3 until the move is final (a way back).
      dovecotStorageVersion: "2.3.0",
    };
}

/**
 * Config values go into line-oriented files unescaped; a control character (a newline above all)
 * could smuggle in a line of its own, so any value carrying one stops the render.
 */
function checkedValue(value: unknown): string {
  const text = String(value);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) {
    throw new Error(`render: a configuration value contains a control character (newline?): ${JSON.stringify(text.slice(0, 40))}…`);
  }
  return text;
}

/** The mailbox users an alias delivers to, following alias chains (the config forbids loops). */
function reachedUsers(source: string, aliases: Map<string, string[]>, users: Set<string>): string[] {
  const out = new Set<string>();
  const walk = (address: string): void => {
    if (users.has(address)) out.add(address);
    for (const d of aliases.get(address) ?? []) walk(d);
  };
  walk(source);
  return [...out];
}

/**
 * Sender ownership for smtpd_sender_login_maps. A user owns its own address and every alias that
 * delivers to it (it receives that mail and must be able to answer as postmaster@, abuse@ …).
 * Aliases that reach no mailbox (discard, outside forwards) belong to the first user, the admin who
 * also gets the RFC 2142 addresses: that way every hosted address has an owner and none can be
 * forged by an unauthenticated client.
 */
function senderLogins(config: MailStackConfig, aliases: MailAlias[]): { address: string; owners: string; ownerList: string[] }[] {
  const users = new Set(config.users.map((u) => u.address));
  const graph = new Map(aliases.map((a) => [a.source, a.destinations]));
  const admin = config.users[0]?.address;
  const rows = config.users.map((u) => ({ address: u.address, owners: [u.address] }));
  // A catch-all's target receives mail for made-up addresses but may not send as them.
  for (const a of aliases.filter((x) => !isCatchAll(x.source))) {
    const reached = reachedUsers(a.source, graph, users);
    const owners = reached.length > 0 ? reached : admin ? [admin] : [];
    if (owners.length > 0) rows.push({ address: a.source, owners });
  }
  return rows
    .sort((x, y) => compare(x.address, y.address))
    .map((r) => ({ address: r.address, owners: r.owners.join(","), ownerList: r.owners }));
}

/** The hosted domain that `name` is or lies below (the longest match): whose key signs mail from it. */
export function hostedDomainOf(name: string, domains: string[]): string | undefined {
  return domains.filter((d) => name === d || name.endsWith(`.${d}`)).sort((a, b) => b.length - a.length)[0];
}

/** The DKIM key as PKCS#1 PEM (one canonical form whatever the input), after checking it is RSA ≥ 2048. */
function dkimKeyPem(domain: string, pem: string | undefined): string {
  if (pem === undefined) throw new Error(`render: no DKIM private key for ${domain}`);
  const key = createPrivateKey(pem);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== "rsa" || bits < 2048) {
    throw new Error(`render: the DKIM key of ${domain} must be RSA with at least 2048 bits (got ${key.asymmetricKeyType} ${bits})`);
  }
  return key.export({ type: "pkcs1", format: "pem" }).toString();
}

/** Where a domain's DKIM key goes and with which attributes; its bytes come from the key alone. */
export function dkimKeyFileSpec(config: MailStackConfig, domain: string): Omit<RenderedFile, "content"> {
  return {
    path: `${DKIM_KEY_DIR}/${domain}/${config.dkimSelector}.private`,
    mode: "0600",
    owner: "opendkim",
    group: "opendkim",
    secret: true,
    service: "opendkim",
  };
}

/** A domain's DKIM key file: kept apart from the other files, which then need no key (and no secret) to render. */
export function renderDkimKeyFile(config: MailStackConfig, domain: string, pem: string): RenderedFile {
  return { ...dkimKeyFileSpec(config, domain), content: dkimKeyPem(domain, pem) };
}

/** Renders every file for the server, sorted by path. */
export async function renderFiles(input: RenderInput): Promise<RenderedFile[]> {
  const { config } = input;
  const hosted = new Set(config.domains.map((d) => d.name));
  const extra = Object.keys(input.dkimPrivateKeys).filter((d) => !hosted.has(d));
  if (extra.length > 0) throw new Error(`render: DKIM keys given for domains that are not hosted: ${extra.join(", ")}`);
  const keyFiles = config.domains.map((d) => renderDkimKeyFile(config, d.name, input.dkimPrivateKeys[d.name]));
  return [...await renderConfigFiles(config), ...keyFiles].sort((a, b) => compare(a.path, b.path));
}

/**
 * Every file but the DKIM keys, from the config alone: in Pulumi these stay plain values (unless the
 * file itself holds a secret), so that a preview shows their diff instead of [secret].
 */
export async function renderConfigFiles(config: MailStackConfig): Promise<RenderedFile[]> {
  const domainNames = config.domains.map((d) => d.name);
  const hosted = new Set(domainNames);

  const firstUser = config.users[0]?.address;
  const hostnameHosted = hosted.has(config.hostname);
  const aliases: MailAlias[] = [...config.aliases];
  // Local mail is addressed @hostname; if that is a hosted domain it never reaches /etc/aliases.
  const rootAtHost = `root@${config.hostname}`;
  if (hostnameHosted && firstUser && !aliases.some((a) => a.source === rootAtHost)
    && !config.users.some((u) => u.address === rootAtHost)) {
    aliases.push({ source: rootAtHost, destinations: [firstUser] });
  }

  const users = await Promise.all(config.users.map(async (u) => ({
    address: u.address,
    quotaMb: u.quotaMb ?? config.mailboxQuotaMb,
    hash: u.passwordHash ?? await hashPassword(u.password ?? "", config.hostname, u.address),
  })));
  for (const u of users) {
    if (u.hash.includes(":")) throw new Error(`render: the password hash of ${u.address} contains ":", which the passwd-file cannot hold`);
  }

  const dkim = domainNames.map((domain) => ({
    domain,
    selector: config.dkimSelector,
    keyName: `${config.dkimSelector}._domainkey.${domain}`,
    keyFile: dkimKeyFileSpec(config, domain).path,
  }));
  const relayNexthop = `[${config.relay.host}]:${config.relay.port}`;
  const logins = senderLogins(config, aliases);
  // The Lua policy holds addresses in double-quoted strings; the config's address syntax has no " or \.
  const unsafe = logins.flatMap((l) => [l.address, ...l.ownerList]).find((a) => /["\\]/.test(a));
  if (unsafe !== undefined) throw new Error(`render: the address ${unsafe} cannot be written into the OpenDKIM policy`);
  const byAddress = (a: { address: string }, b: { address: string }) => compare(a.address, b.address);

  const view = {
    hostname: config.hostname,
    domain: config.domain,
    mydestination: hostnameHosted ? "localhost" : "$myhostname, localhost",
    virtualDomains: domainNames.join(", "),
    hostnameRegex: config.hostname.replace(/\./g, "\\."),
    opendkimAuthservId: OPENDKIM_AUTHSERV_ID,
    opendkimAuthservIdRegex: OPENDKIM_AUTHSERV_ID.replace(/\./g, "\\."),
    messageSizeLimitBytes: config.messageSizeLimitMb * 1024 * 1024,
    queueMinfreeBytes: queueMinfreeBytes(config),
    spamJunkScore: config.spam.junkScore,
    spamRejectScore: config.spam.rejectScore,
    // rspamd's default (4), kept below the Junk score: only mail that is already suspicious is deferred.
    spamGreylistScore: Math.min(4, config.spam.junkScore),
    greylisting: config.spam.greylisting,
    greylistDelaySeconds: config.spam.greylistDelaySeconds,
    relayNexthop,
    relayUsername: config.relay.username,
    // The password is read from Secret Manager on the server at apply time (mailserver-apply).
    relayPassword: RELAY_PASSWORD_PLACEHOLDER,
    discardDomain: DISCARD_DOMAIN,
    users: [...users].sort(byAddress),
    aliases: aliases
      .map((a) => ({
        source: a.source,
        targets: a.destinations.map((d) => (d === "discard" ? DISCARD_ADDRESS : d)).join(", "),
      }))
      .sort((a, b) => compare(a.source, b.source)),
    senderLogins: logins,
    // Postfix tries user@domain before @domain: a mailbox of a domain with a catch-all must map to itself
    // first, or the catch-all takes its mail (VIRTUAL_README, "mail to nonexistent users" caveat).
    catchAllMailboxes: users.filter((u) => aliases.some((a) => isCatchAll(a.source) && a.source.slice(1) === domainOf(u.address)))
      .map((u) => ({ address: u.address })).sort(byAddress),
    hasCatchAll: aliases.some((a) => isCatchAll(a.source)),
    hostedDomains: domainNames.map((name) => ({ name })),
    bounceDomain: hostedDomainOf(config.hostname, domainNames) ?? config.domain,
    dkim,
    rootForward: firstUser,
    mailHome: MAIL_HOME,
    sieveSubmitPort: SIEVE_SUBMIT_PORT,
    sieveMaxScripts: SIEVE_QUOTA.maxScripts,
    // Dovecot reads a bare number as bytes.
    sieveMaxStorage: SIEVE_QUOTA.maxStorageBytes,
    vmailId: VMAIL_ID,
    tlsCert: TLS_CERT,
    tlsKey: TLS_KEY,
    ...nginxView(config),
    ...abuseView(config),
    ...releaseView(config.release),
  };

  const partials = { policy: await readFile(join(TEMPLATE_DIR, "opendkim", "policy.lua.mustache"), "utf8") };
  const files = await Promise.all(Object.entries(FILES).map(async ([path, spec]): Promise<RenderedFile> => {
    const { template, ...meta } = spec;
    const text = await readFile(join(TEMPLATE_DIR, templateFor(template, config.release)), "utf8");
    const content = Mustache.render(text, view, partials, { escape: checkedValue });
    return { path, content, ...meta };
  }));
  return files.sort((a, b) => compare(a.path, b.path));
}
