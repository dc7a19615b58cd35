// The provisioning script and the manifest the apply step reads: pure renders, like the daemons' files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Mustache from "mustache";
import type { MailStackConfig } from "./config";
import type { RenderedFile } from "./files";
import { SIEVE_SUBMIT_PORT } from "./ports";
import { DEBIAN_RELEASES } from "./release";
import { webHosts } from "./web";
import { DATA_DEVICE, DATA_MOUNT, MAIL_HOME, RELAY_PASSWORD_PLACEHOLDER, TLS_CERT, TLS_DIR, TLS_KEY, VMAIL_ID } from "./layout";

const TEMPLATES = join(__dirname, "..", "..", "templates", "provision");
const read = (file: string) => readFileSync(join(TEMPLATES, file), "utf8").trimEnd();

/** Debian packages the server needs (the same names in Debian 12 and 13). */
export function packagesFor(config: Pick<MailStackConfig, "tls">): string[] {
  return [
    "postfix", "dovecot-core", "dovecot-imapd", "dovecot-pop3d", "dovecot-lmtpd",
    "opendkim", "opendkim-tools", "openssl", "ca-certificates", "e2fsprogs",
    // Cyrus SASL mechanisms: without them Postfix cannot AUTH PLAIN/LOGIN to the relay ("no mechanism available").
    "libsasl2-modules",
    // Inbound verdicts and spam score (milter), the global Junk rule and users' sieve (Pigeonhole), users'
    // scripts over ManageSieve (4190); redis keeps what rspamd learns (Bayes) and greylisting's triplets.
    "rspamd", "dovecot-sieve", "dovecot-managesieved", "redis-server",
    // mailserver-secret reads the relay password from the metadata server and Secret Manager.
    "curl", "jq",
    // growpart: the root partition follows a boot disk GCE grew in place (mailserver-growroot).
    "cloud-guest-utils",
    // Security updates by themselves, daemons restarted on replaced libraries (provision.sh, step 9).
    "unattended-upgrades", "needrestart",
    // Abuse limits: fail2ban reads the journal (python3-systemd) and bans with nftables; the per-login
    // sending limit is a Postfix policy service.
    "fail2ban", "python3-systemd", "nftables", "policyd-rate-limit",
    ...(config.tls === "acme" ? ["certbot"] : []),
    // The MTA-STS policy and client autoconfig on 443. Debian 12's nginx-light is this package plus an
    // echo module we do not use; Mail-in-a-Box serves the same documents with nginx.
    "nginx",
  ];
}

/** The daemons that read our files: the apply step starts and reloads them. */
export const UNITS = ["postfix", "dovecot", "opendkim", "rspamd", "nginx", "fail2ban", "policyd-rate-limit"];

/**
 * Daemons that run on Debian's own configuration: provisioning enables and starts them. redis: rspamd's
 * Bayes classifier (always) and greylist module keep their data there; Debian binds it to loopback only.
 */
export const HELPER_UNITS = ["redis-server"];

/** The names the server's certificate is requested for: the hostname first (its CN), then the web names on 443. */
export function certificateNames(config: Pick<MailStackConfig, "hostname" | "domains">): string[] {
  return [config.hostname, ...webHosts(config)];
}

/**
 * What the certificate depends on besides the key, as one readable line: the TLS command (components/push.ts)
 * carries it, so that a change of mode, names or ACME directory re-runs it and shows in the preview.
 */
export function tlsSettings(config: MailStackConfig): string {
  return [config.tls, ...certificateNames(config), ...(config.tls === "acme" ? [config.acmeServer] : [])].join(" ");
}

export function renderProvisionScript(config: MailStackConfig): string {
  const { postfixUnit } = DEBIAN_RELEASES[config.release];
  const view = {
    hostname: config.hostname,
    deployUser: config.deployUser,
    dataDevice: DATA_DEVICE,
    dataMount: DATA_MOUNT,
    mailHome: MAIL_HOME,
    tlsDir: TLS_DIR,
    tlsCert: TLS_CERT,
    tlsKey: TLS_KEY,
    vmailId: VMAIL_ID,
    sieveSubmitPort: SIEVE_SUBMIT_PORT,
    packages: packagesFor(config),
    units: UNITS,
    // The unit file its drop-ins extend: the template postfix@.service for postfix@-, else the unit itself. A
    // constant of ours, inserted unquoted ({{{…}}}) so that it stays a path component.
    postfixUnitFile: `${postfixUnit.replace(/@.*$/, "@")}.service`,
    helperUnits: HELPER_UNITS,
    tlsMode: config.tls,
    certNames: certificateNames(config),
    acmeServer: config.acmeServer,
    acmeEmail: config.acmeEmail,
    relayHost: config.relay.host,
    relayPort: config.relay.port,
    alertEmail: alertRecipient(config),
    maintenanceWindow: config.maintenanceWindow,
    stageScript: read("mailserver-stage.sh"),
    applyScript: read("mailserver-apply.sh").replaceAll("@RELAY_PASSWORD_PLACEHOLDER@", RELAY_PASSWORD_PLACEHOLDER),
    secretScript: read("mailserver-secret.sh"),
    selfcheckScript: read("mailserver-selfcheck.sh").replaceAll("@POSTFIX_UNIT@", postfixUnit),
    tlsScript: read("mailserver-tls.sh"),
    maintenanceScript: read("mailserver-maintenance.sh"),
    growRootScript: read("mailserver-growroot.sh"),
  };
  // {{value}} becomes one quoted shell word; {{{script}}} (the static helper scripts) is inserted as it is.
  return Mustache.render(read("provision.sh.mustache"), view, {}, { escape: (v: unknown) => shellQuote(String(v)) }) + "\n";
}

/** Who the daily self-check mails: alertEmail, or the primary domain's postmaster (delivered on this server). */
export function alertRecipient(config: MailStackConfig): string {
  return config.alertEmail ?? `postmaster@${config.domain}`;
}

/** One line per file for mailserver-apply: "path service rebuild" ("-" when nothing is rebuilt). */
export function applyManifest(files: Pick<RenderedFile, "path" | "service" | "rebuild">[]): string {
  return files.map((f) => `${f.path} ${f.service} ${f.rebuild ?? "-"}\n`).join("");
}

/** Single-quotes a value as one word for a POSIX shell (paths, owners and config values: never secrets). */
export function shellQuote(value: string): string {
  // A shell string cannot hold NUL: bash would drop it and the word would silently differ.
  if (value.includes("\0")) throw new Error(`shellQuote: a value contains a NUL byte: ${JSON.stringify(value.slice(0, 40))}`);
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
