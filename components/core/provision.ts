// The provisioning script and the manifest the apply step reads: pure renders, like the daemons' files.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Mustache from "mustache";
import type { MailStackConfig } from "./config";
import type { RenderedFile } from "./files";
import { certificateNames } from "./web";
import { DATA_DEVICE, DATA_MOUNT, MAIL_HOME, RELAY_PASSWORD_PLACEHOLDER, TLS_CERT, TLS_DIR, TLS_KEY, VMAIL_ID } from "./layout";

const TEMPLATES = join(__dirname, "..", "..", "templates", "provision");
const read = (file: string) => readFileSync(join(TEMPLATES, file), "utf8").trimEnd();

/** Debian 12 packages the server needs. */
export function packagesFor(config: MailStackConfig): string[] {
  return [
    "postfix", "dovecot-core", "dovecot-imapd", "dovecot-pop3d", "dovecot-lmtpd",
    "opendkim", "opendkim-tools", "openssl", "ca-certificates", "e2fsprogs",
    // Cyrus SASL mechanisms: without them Postfix cannot AUTH PLAIN/LOGIN to the relay ("no mechanism available").
    "libsasl2-modules",
    // Inbound verdicts and spam score (milter), the global Junk rule and users' sieve (Pigeonhole).
    "rspamd", "dovecot-sieve",
    ...(config.spam.greylisting ? ["redis-server"] : []),
    // mailserver-secret reads the relay password from the metadata server and Secret Manager.
    "curl", "jq",
    ...(config.tls === "acme" ? ["certbot"] : []),
    // The MTA-STS policy and client autoconfig on 443. Debian 12's nginx-light is this package plus an
    // echo module we do not use; Mail-in-a-Box serves the same documents with nginx.
    "nginx",
  ];
}

/** The daemons that read our files: the apply step starts and reloads them. */
export const UNITS = ["postfix", "dovecot", "opendkim", "rspamd", "nginx"];

/** Daemons that run on Debian's own configuration: provisioning enables and starts them. */
export function helperUnitsFor(config: MailStackConfig): string[] {
  // rspamd's greylist module keeps its triplets in redis; nothing else of ours needs it.
  return config.spam.greylisting ? ["redis-server"] : [];
}

export function renderProvisionScript(config: MailStackConfig): string {
  const view = {
    hostname: config.hostname,
    certNames: certificateNames(config),
    dataDevice: DATA_DEVICE,
    dataMount: DATA_MOUNT,
    mailHome: MAIL_HOME,
    tlsDir: TLS_DIR,
    tlsCert: TLS_CERT,
    tlsKey: TLS_KEY,
    vmailId: VMAIL_ID,
    packages: packagesFor(config),
    units: UNITS,
    helperUnits: helperUnitsFor(config),
    acme: config.tls === "acme",
    acmeServer: config.acmeServer,
    acmeEmail: config.acmeEmail,
    stageScript: read("mailserver-stage.sh"),
    applyScript: read("mailserver-apply.sh").replaceAll("@RELAY_PASSWORD_PLACEHOLDER@", RELAY_PASSWORD_PLACEHOLDER),
    secretScript: read("mailserver-secret.sh"),
  };
  // {{value}} becomes one quoted shell word; {{{script}}} (the static helper scripts) is inserted as it is.
  return Mustache.render(read("provision.sh.mustache"), view, {}, { escape: (v: unknown) => shellQuote(String(v)) }) + "\n";
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
