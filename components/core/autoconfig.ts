// Thunderbird's autoconfig (also read by Thunderbird for Android/K-9, Evolution and KMail): the XML at
// https://autoconfig.<domain>/mail/config-v1.1.xml, made from the port table so that it can never offer a
// port the server does not. Format: wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat.
import type { MailStackConfig } from "./config";
import { clientSettings } from "./ports";

export const AUTOCONFIG_PATH = "/mail/config-v1.1.xml";

export const autoconfigHost = (domain: string): string => `autoconfig.${domain}`;

/** The port table's security names in the format's socketType words. */
const SOCKET_TYPE: Record<string, string> = { "SSL/TLS": "SSL", STARTTLS: "STARTTLS" };

function socketType(security: string): string {
  const t = SOCKET_TYPE[security];
  if (t === undefined) throw new Error(`autoconfig: no socketType for security ${security}`);
  return t;
}

/** Domain names and host names are [a-z0-9.-] (config.ts): nothing here needs XML escaping. */
function server(tag: "incomingServer" | "outgoingServer", type: string, s: { host: string; port: number; security: string }): string[] {
  return [
    `    <${tag} type="${type}">`,
    `      <hostname>${s.host}</hostname>`,
    `      <port>${s.port}</port>`,
    `      <socketType>${socketType(s.security)}</socketType>`,
    // Over TLS only (the server offers no plaintext port), the address as the login (the port table's username).
    "      <authentication>password-cleartext</authentication>",
    "      <username>%EMAILADDRESS%</username>",
    `    </${tag}>`,
  ];
}

/** One document for every hosted domain: they share the server. */
export function autoconfigXml(config: Pick<MailStackConfig, "hostname" | "domain" | "domains">): string {
  const s = clientSettings(config.hostname);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.1">',
    `  <emailProvider id="${config.domain}">`,
    ...config.domains.map((d) => `    <domain>${d.name}</domain>`),
    `    <displayName>${config.hostname}</displayName>`,
    `    <displayShortName>${config.domain}</displayShortName>`,
    ...server("incomingServer", "imap", s.imap),
    ...server("incomingServer", "pop3", s.pop3),
    ...s.smtp.flatMap((o) => server("outgoingServer", "smtp", o)),
    "  </emailProvider>",
    "</clientConfig>",
  ].join("\n") + "\n";
}
