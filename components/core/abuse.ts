// Abuse limits: what fail2ban's jails, Postfix's per-client limits and the per-login sending limit are
// rendered from (docs/security.md, "Abuse limits").
import { isIP } from "node:net";
import type { MailStackConfig } from "./config";
import { MAIL_PORTS } from "./ports";

/**
 * The ports a banned address can no longer reach: every port with a login (MAIL_PORTS includes ManageSieve,
 * so a password guesser cannot move there); SSH (22), ACME (80) and the web server (443) are never among them.
 */
export const BAN_PORTS: readonly number[] = MAIL_PORTS;

/** Code-point order, so the bytes do not follow the order of users in the config or the machine's locale. */
const byAddress = (a: { address: string }, b: { address: string }) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);

/** The template values of the abuse limits. */
export function abuseView(config: MailStackConfig) {
  const { abuse } = config;
  const limit = (n: number) => (n === 0 ? [] : [n]);
  const ownMailbox = ownMailboxClasses(config);
  return {
    banPorts: BAN_PORTS.join(","),
    banAfterFailures: abuse.banAfterFailures,
    banMinutes: abuse.banMinutes,
    exemptRanges: abuse.exemptRanges,
    postfixExemptRanges: abuse.exemptRanges.map(postfixCidr),
    sendLimit: limit(abuse.sendLimitPerHour),
    sendLimitOverrides: config.users
      .filter((u) => u.sendLimitPerHour !== undefined)
      .map((u) => ({ address: u.address, limit: limit(u.sendLimitPerHour ?? 0) }))
      .sort(byAddress),
    ownMailbox,
    // The access table naming each login's class (one line in main.cf; Postfix opens it at start).
    ownMailboxLogins: `inline:{ ${ownMailbox.map((o) => `${o.address}=${o.class}`).join(", ")} }`,
  };
}

/**
 * Mail a login sends to its own mailbox only reaches nobody else, so it is not counted against the hourly
 * limit: `npm run status`'s round trip (a message to the mailbox itself) then still works after a burst used
 * the limit up. Postfix cannot compare a recipient with the login, but an access table keyed by the login can
 * name a restriction class, and each user's class lets only that user's own address through (RESTRICTION_CLASS_README).
 */
function ownMailboxClasses(config: MailStackConfig): { address: string; class: string }[] {
  return [...config.users].sort(byAddress).map((u, i) => ({ address: u.address, class: `own_mailbox_${i}` }));
}

/**
 * A CIDR block as Postfix's address lists read it (postconf(5), mynetworks): an IPv6 address in brackets,
 * `[2001:db8::]/48`, since a bare one is read as a `type:table` lookup. fail2ban's ignoreip takes the bare form.
 */
export function postfixCidr(cidr: string): string {
  const slash = cidr.lastIndexOf("/");
  const address = slash < 0 ? cidr : cidr.slice(0, slash);
  return isIP(address) === 6 ? `[${address}]${cidr.slice(address.length)}` : cidr;
}
