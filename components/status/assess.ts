// Verdicts on what the probes saw: pure, so each rule is tested without a server.
import { CheckResult, error, ok, skip, warning } from "./result";

/** Certificates closer than this to expiry are a warning (certbot renews 30 days ahead). */
export const CERT_WARN_DAYS = 14;

export interface TlsSeen {
  port: number;
  hostname: string;
  /** Chain verified against the trusted roots; otherwise why not. */
  authorizationError?: string;
  /** Set when the certificate does not name the hostname. */
  hostnameError?: string;
  validTo: Date;
  protocol: string | null;
  now: Date;
}

export function assessCertificate(s: TlsSeen): CheckResult {
  const id = `tls:${s.port}`;
  const fix = "check the certificate (mailserver-tls-renew.timer renews it; see journalctl -u mailserver-tls-renew on the server), then pulumi up";
  if (s.authorizationError) return error(id, `certificate not trusted (${s.authorizationError}) — ${fix}`);
  if (s.hostnameError) return error(id, `certificate is not for ${s.hostname} (${s.hostnameError}) — ${fix}`);
  const days = Math.floor((s.validTo.getTime() - s.now.getTime()) / 86_400_000);
  if (days < 0) return error(id, `certificate expired on ${s.validTo.toISOString().slice(0, 10)} — ${fix}`);
  if (s.protocol !== "TLSv1.2" && s.protocol !== "TLSv1.3") return error(id, `negotiated ${s.protocol ?? "no protocol"}, not TLS 1.2 or 1.3 — check the daemon's TLS settings`);
  const what = `${s.protocol}, certificate for ${s.hostname} valid ${days} more days`;
  return days < CERT_WARN_DAYS ? warning(id, `${what}, fewer than ${CERT_WARN_DAYS} — renewal is failing: ${fix}`) : ok(id, what);
}

export interface EnvelopeSeen {
  mail: { code: number; text: string };
  /** Absent when MAIL FROM was already refused. */
  rcpt?: { code: number; text: string };
}

const lastLine = (t: string) => t.split("\n").pop() ?? t;

/** Mail from outside to outside, without AUTH: anything but a refusal at RCPT makes the server an open relay. */
export function assessRelayProbe(seen: EnvelopeSeen): CheckResult {
  const id = "open-relay";
  if (!seen.rcpt) return warning(id, `not tested: MAIL FROM was refused (${lastLine(seen.mail.text)}) — the probe needs an outside sender the server accepts`);
  if (seen.rcpt.code >= 400) return ok(id, `an outside recipient without AUTH is refused: ${lastLine(seen.rcpt.text)}`);
  return error(id, `OPEN RELAY: RCPT to an outside domain without AUTH got ${lastLine(seen.rcpt.text)} — restore smtpd_relay_restrictions (permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination) and check mynetworks`);
}

/** A hosted address as sender on port 25, without AUTH: must be refused for good (5xx) at MAIL or RCPT. */
export function assessForgedProbe(seen: EnvelopeSeen, sender: string): CheckResult {
  const id = "forged-sender";
  const refusal = [seen.mail, seen.rcpt].find((r) => r !== undefined && r.code >= 400);
  const fix = "restore check_sender_access of hosted_sender_access in smtpd_sender_restrictions (pulumi up)";
  if (refusal && refusal.code >= 500) return ok(id, `${sender} from outside is refused: ${lastLine(refusal.text)}`);
  if (refusal) return warning(id, `${sender} from outside is only deferred (${lastLine(refusal.text)}), forgers retry — ${fix}`);
  return error(id, `${sender} from outside without AUTH is accepted (${lastLine(seen.rcpt?.text ?? "")}) — ${fix}`);
}

/** The name in the greeting and in the EHLO reply is the hostname (receivers compare it with the PTR). */
export function assessHelo(hostname: string, greeting: string, ehlo: string): CheckResult {
  const greeted = /^220[ -](\S+)/.exec(greeting)?.[1]?.toLowerCase();
  const ehloName = /^250[ -](\S+)/.exec(ehlo)?.[1]?.toLowerCase();
  if (greeted === hostname && ehloName === hostname) return ok("helo", `greeting and EHLO name ${hostname}`);
  return error("helo", `greeting names ${greeted ?? "nothing"}, EHLO ${ehloName ?? "nothing"}, not ${hostname} — set myhostname to ${hostname} (pulumi up)`);
}

/** Reverse DNS must name the hostname when mailserver:ptr is on. */
export function assessPtr(ptrOn: boolean, ip: string, hostname: string, names: string[] | { failed: string }): CheckResult {
  if (!ptrOn) return skip("ptr", "mailserver:ptr is off, so the PTR is Google's default name; turn it on once the domain is verified for the deploying identity");
  if (!Array.isArray(names)) return error("ptr", `no PTR for ${ip} (${names.failed}) — run pulumi up with mailserver:ptr true`);
  const clean = names.map((n) => n.toLowerCase().replace(/\.$/, ""));
  if (clean.includes(hostname)) return ok("ptr", `${ip} → ${hostname}`);
  return error("ptr", `${ip} → ${clean.join(", ")}, not ${hostname} — run pulumi up with mailserver:ptr true`);
}

/**
 * A DNS blocklist's answer for our IP. 127.0.0.2–127.0.0.255 means listed; Spamhaus answers 127.255.255.x
 * when it refuses the resolver (public resolvers, no account): that is no verdict.
 */
export function assessBlocklist(list: string, ip: string, answer: string[] | "not listed" | { failed: string }): CheckResult {
  const id = `blocklist:${list}`;
  if (answer === "not listed") return ok(id, `${ip} is not listed`);
  if (!Array.isArray(answer)) return skip(id, `could not ask (${answer.failed})`);
  if (answer.some((a) => a.startsWith("127.255.255."))) return skip(id, `the list refused our resolver (${answer.join(", ")}); ask it through your own resolver`);
  return error(id, `${ip} is listed (${answer.join(", ")}) — find out why on the list's lookup page, stop the cause, then request removal`);
}

/** What a failed submission left us: nodemailer's message, and the server's reply when it sent one. */
export interface SubmissionFailure {
  message: string;
  response?: string;
  responseCode?: number;
}

/**
 * The round trip's submission failed: say what the server said, and the fix that answer calls for. The hourly
 * sending limit (policyd-rate-limit's "Sending limit of your login reached", templates/ratelimit) does not count
 * mail to one's own mailbox (main.cf's own_mailbox classes), so only a server deployed before that rule says it.
 */
export function assessSubmissionFailure(f: SubmissionFailure): CheckResult {
  const id = "round-trip";
  if (f.response === undefined) return error(id, `submission on 587 failed before the server answered (${f.message}) — check that Postfix runs and the firewall lets 587 in`);
  const said = `the server said "${lastLine(f.response)}"`;
  if (/Sending limit of your login reached/i.test(f.response)) {
    return error(id, `submission on 587 refused: ${said} — the mailbox has used up its hourly sending limit (mailserver:sendLimitPerHour, ` +
      "or its own sendLimitPerHour), and this server still counts mail to one's own mailbox: run pulumi up to deploy the rule that does not, " +
      "or retry once the hour has passed");
  }
  if (f.responseCode === 535) return error(id, `submission on 587 refused the login: ${said} — check the mailbox's password (MAILSERVER_STATUS_PASSWORD)`);
  return error(id, `submission on 587 failed: ${said} — see journalctl -u 'postfix*' on the server`);
}
