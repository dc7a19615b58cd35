// Which ports the server offers, to whom, and how clients should use them.
import { MailStackConfig, parseCidr } from "./config";

/**
 * Open to the world: 25 (inbound MX), 465 (submission, implicit TLS), 587 (submission, STARTTLS), 993 (IMAPS),
 * 995 (POP3S), 4190 (ManageSieve, STARTTLS before login).
 */
export const MAIL_PORTS = [25, 465, 587, 993, 995, 4190] as const;

/**
 * Loopback only: Postfix's Sieve lane, where /etc/dovecot/sieve-submit hands over what Dovecot sends for a user
 * (master.cf). Nothing outside the machine reaches it; the firewall opens MAIL_PORTS and WEB_PORTS only.
 */
export const SIEVE_SUBMIT_PORT = 10588;

/** Open to the world: 443 (HTTPS: the MTA-STS policy and the client configuration documents, nothing else). */
export const WEB_PORTS = [443] as const;

/** ACME HTTP-01 needs port 80 while certbot validates; a self-signed certificate needs nothing. */
export function acmeHttpPorts(tls: MailStackConfig["tls"]): number[] {
  return tls === "acme" ? [80] : [];
}

/**
 * Where Identity-Aware Proxy TCP forwarding connects from: Google documents this one range for the firewall
 * rule (cloud.google.com/iap/docs/using-tcp-forwarding, "Create a firewall rule"). Only identities holding
 * roles/iap.tunnelResourceAccessor can open a tunnel, so this is not SSH for the world.
 */
export const IAP_TCP_SOURCE_RANGE = "35.235.240.0/20";

/**
 * CIDR ranges split by address family, order kept: a GCE firewall rule holds IPv4 or IPv6 ranges, never both
 * (cloud.google.com/firewall/docs/using-firewalls: "A firewall rule can contain either IPv4 or IPv6 ranges, but
 * not both"). The ranges are validated CIDR blocks (core/config.ts).
 */
export function rangesByFamily(ranges: readonly string[]): { v4: string[]; v6: string[] } {
  return { v4: ranges.filter((r) => parseCidr(r)?.version === 4), v6: ranges.filter((r) => parseCidr(r)?.version === 6) };
}

/** Where the deploy's SSH connections go: the VM's address, or the local end of the IAP tunnel. */
export function sshEndpoint(c: Pick<MailStackConfig, "sshViaIap" | "iapTunnelPort">, ip: string): { host: string; port: number } {
  return c.sshViaIap ? { host: "127.0.0.1", port: c.iapTunnelPort } : { host: ip, port: 22 };
}

export interface ClientSettings {
  imap: { host: string; port: number; security: string };
  pop3: { host: string; port: number; security: string };
  smtp: { host: string; port: number; security: string }[];
  /** Users' own filter rules (vacation, filing) from a client that speaks ManageSieve (RFC 5804). */
  managesieve: { host: string; port: number; security: string };
  username: string;
}

/** What a user types into a mail client. */
export function clientSettings(hostname: string): ClientSettings {
  return {
    imap: { host: hostname, port: 993, security: "SSL/TLS" },
    pop3: { host: hostname, port: 995, security: "SSL/TLS" },
    smtp: [
      { host: hostname, port: 465, security: "SSL/TLS" },
      { host: hostname, port: 587, security: "STARTTLS" },
    ],
    managesieve: { host: hostname, port: 4190, security: "STARTTLS" },
    username: "the full e-mail address",
  };
}
