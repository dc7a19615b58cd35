// Outlook's autodiscover (the "POX" protocol, [MS-OXDSCLI]): Outlook POSTs its request to
// https://autodiscover.<domain>/autodiscover/autodiscover.xml and reads an Account of AccountType "email"
// with one Protocol per mail protocol. The answer is the same for every user, so it is a static document
// made from the port table (never a port the server does not offer) and nothing of the request is read
// or echoed: no code runs on 443 for it.
//
// An argued subset of the port table: only the implicit-TLS ports (IMAP 993, POP3 995, SMTP 465), as
// mailcow's autodiscover does. POX's <SSL>on</SSL> means TLS from the first byte; STARTTLS has no
// unambiguous spelling in it, so 587 is left to Thunderbird's autoconfig and the SRV records.
// <LoginName> is optional ([MS-OXDSCLI] 2.2.4.1.1.2.6.28); without it Outlook logs in with the address the
// user typed, which is the login here (clientSettings().username).
import type { MailStackConfig } from "./config";
import { clientSettings } from "./ports";

export const autodiscoverHost = (domain: string): string => `autodiscover.${domain}`;

/** The path Outlook asks; Outlook and Exchange servers spell it in either case. */
export const AUTODISCOVER_PATH = "/autodiscover/autodiscover.xml";

const RESPONSE_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
const OUTLOOK_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

/** One Protocol element per implicit-TLS server; the host name is [a-z0-9.-] (config.ts): no escaping needed. */
function protocol(type: "IMAP" | "POP3" | "SMTP", s: { host: string; port: number; security: string }): string[] {
  if (s.security !== "SSL/TLS") throw new Error(`autodiscover: ${type} on ${s.port} is not implicit TLS (${s.security})`);
  return [
    "      <Protocol>",
    `        <Type>${type}</Type>`,
    `        <Server>${s.host}</Server>`,
    `        <Port>${s.port}</Port>`,
    "        <DomainRequired>off</DomainRequired>",
    // Plain password over TLS, not Windows' Secure Password Authentication (NTLM), which Dovecot does not offer.
    "        <SPA>off</SPA>",
    "        <SSL>on</SSL>",
    "        <AuthRequired>on</AuthRequired>",
    "      </Protocol>",
  ];
}

/** One document for every hosted domain: they share the server. IMAP comes first: Outlook prefers it. */
export function autodiscoverXml(config: Pick<MailStackConfig, "hostname">): string {
  const s = clientSettings(config.hostname);
  const smtp = s.smtp.find((o) => o.security === "SSL/TLS");
  if (smtp === undefined) throw new Error("autodiscover: the port table has no implicit-TLS submission port");
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${RESPONSE_SCHEMA}">`,
    `  <Response xmlns="${OUTLOOK_SCHEMA}">`,
    "    <Account>",
    "      <AccountType>email</AccountType>",
    "      <Action>settings</Action>",
    ...protocol("IMAP", s.imap),
    ...protocol("POP3", s.pop3),
    ...protocol("SMTP", smtp),
    "    </Account>",
    "  </Response>",
    "</Autodiscover>",
  ].join("\n") + "\n";
}
