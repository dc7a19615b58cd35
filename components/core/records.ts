// The DNS records plan: pure, from config + server IP + DKIM public keys to the list of records.
//
// Content is in the form Cloudflare (API v4, provider v6) stores and returns, so that a second
// preview compares equal:
// - names are fully qualified without the trailing dot (relative names come back expanded);
// - TXT is always a list of quoted RFC 1035 character-strings of at most 255 bytes, `"…" "…"`.
//   The API documents TXT content as quoted strings and splits longer ones itself, so an unquoted or
//   unsplit value would differ from what is read back on every refresh;
// - MX and SRV targets carry no trailing dot; MX and SRV priority is separate from content;
// - SRV content is "weight port target" (the API's content form); the Cloudflare shell sends SRV as
//   `data` (see components/dns.ts).
import { isIP } from "node:net";
import { ConfigError, ExtraRecord, MailStackConfig, sameOrganisation, zoneOf } from "./config";
import { autoconfigHost } from "./autoconfig";
import { autodiscoverHost } from "./autodiscover";
import { dkimRecordContent, dkimSelectors } from "./dkim";
import { mtaStsHost, mtaStsPolicy, mtaStsRecord } from "./mta-sts";

export type RecordType = "A" | "AAAA" | "CNAME" | "MX" | "TXT" | "SRV" | "CAA" | "TLSA";

export interface RecordSpec {
  /** Cloudflare zone id the record goes in. */
  zoneId: string;
  /** The zone's apex domain (used for zone files and for naming resources). */
  zone: string;
  /** Fully qualified record name, without trailing dot, e.g. s1._domainkey.example.com. */
  name: string;
  type: RecordType;
  /** Content as Cloudflare stores it (TXT longer than 255 bytes already split into quoted chunks). */
  content: string;
  priority?: number;
  ttl: number;
}

// ---------- TXT ----------

/** One RFC 1035 character-string holds at most 255 bytes. */
export const TXT_CHUNK_BYTES = 255;

/** Quotes text as TXT character-strings of at most 255 bytes each, never splitting a UTF-8 sequence. */
export function txtContent(text: string): string {
  const bytes = Buffer.from(text, "utf8");
  const chunks: string[] = [];
  let start = 0;
  do {
    let end = Math.min(start + TXT_CHUNK_BYTES, bytes.length);
    while (end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
    chunks.push(bytes.subarray(start, end).toString("utf8"));
    start = end;
  } while (start < bytes.length);
  return chunks.map((c) => `"${c.replace(/[\\"]/g, (m) => `\\${m}`)}"`).join(" ");
}

/** The character-strings of quoted TXT content (escapes resolved); throws if it is not quoted. */
export function txtStrings(content: string): string[] {
  const strings: string[] = [];
  const re = /\s*"((?:[^"\\]|\\.)*)"\s*/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(content)) !== null) {
    strings.push(m[1].replace(/\\(.)/g, "$1"));
    end = re.lastIndex;
    if (end === content.length) break;
  }
  if (strings.length === 0 || end !== content.length) {
    throw new Error(`TXT content is not a list of quoted strings: ${content}`);
  }
  return strings;
}

/** TXT content as given if already quoted in chunks of ≤255 bytes; otherwise quoted and split. */
function normaliseTxt(content: string, where: string): string {
  if (!content.trimStart().startsWith('"')) return txtContent(content);
  let strings: string[];
  try {
    strings = txtStrings(content);
  } catch {
    throw new ConfigError([`${where}: ${content} starts with a quote but is not a list of "quoted" strings — quote every part or none`]);
  }
  if (strings.some((s) => Buffer.byteLength(s, "utf8") > TXT_CHUNK_BYTES)) {
    throw new ConfigError([`${where}: a quoted string is longer than 255 bytes — leave the content unquoted and it is split for you`]);
  }
  return strings.map((s) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(" ");
}

// ---------- SPF ----------

export const SPF_MAX_LOOKUPS = 10;

/**
 * DNS lookups an `include:` costs, itself plus the includes nested inside it (RFC 7208 §4.6.4).
 * mailgun.org published `include:_spf.mailgun.org include:_spf.eu.mailgun.org` over ip4-only
 * records, i.e. 3 lookups; we budget 4 to leave room for Mailgun adding one without warning.
 * An include not listed here counts 1 (a lower bound: its nested lookups are unknown to us).
 */
export const SPF_INCLUDE_LOOKUPS: Record<string, number> = { "mailgun.org": 4 };

/** Lookups an SPF record costs a receiver: include/a/mx/ptr/exists/redirect, with known nesting. */
export function spfLookupCount(record: string): number {
  let count = 0;
  for (const term of record.trim().split(/\s+/).slice(1)) {
    const t = term.replace(/^[+?~-]/, "").toLowerCase();
    const include = /^include:(.+)$/.exec(t);
    if (include) count += SPF_INCLUDE_LOOKUPS[include[1]] ?? 1;
    else if (/^(a|mx|ptr)([:/]|$)/.test(t) || t.startsWith("exists:") || t.startsWith("redirect=")) count += 1;
  }
  return count;
}

/** Throws when an SPF record would exceed the 10-lookup limit (receivers then return permerror). */
export function checkSpfLookups(record: string, where: string): void {
  const n = spfLookupCount(record);
  if (n > SPF_MAX_LOOKUPS) {
    throw new ConfigError([`${where}: SPF record needs ${n} DNS lookups, more than ${SPF_MAX_LOOKUPS} — receivers would treat it as permerror; replace includes by ip4: ranges`]);
  }
}

export function spfRecord(ip: string, all: MailStackConfig["spfAll"]): string {
  return `v=spf1 ${isIP(ip) === 6 ? "ip6" : "ip4"}:${ip} include:mailgun.org ${all}`;
}

// ---------- CAA ----------

/** CAA content as Cloudflare stores it: flags, tag, quoted value (the shell sends it as `data`). */
export function caaContent(issuer: string): string {
  return `0 issue "${issuer}"`;
}

// ---------- the plan ----------

/**
 * RFC 6186 / RFC 8314 client discovery. Priority applies across services: clients prefer implicit
 * TLS for submission and IMAP over POP3. Port 0 with target "." says "not offered" (plaintext).
 */
const SRV_SERVICES: { service: string; priority: number; port: number }[] = [
  { service: "_submissions._tcp", priority: 0, port: 465 },
  { service: "_submission._tcp", priority: 10, port: 587 },
  { service: "_imaps._tcp", priority: 0, port: 993 },
  { service: "_pop3s._tcp", priority: 10, port: 995 },
  { service: "_imap._tcp", priority: 0, port: 0 },
  { service: "_pop3._tcp", priority: 0, port: 0 },
];

/** The hosted domain whose zone holds a name: the longest matching suffix. */
export const zoneFor = zoneOf;

/** Same organisational domain, approximated without the public suffix list: one is inside the other. */

/** Domain → selector → DKIM public key (base64 DER), for the current and every retired selector. */
export type DkimPublicKeys = Record<string, Record<string, string>>;

/**
 * Every record the mail server needs, in a fixed order: per domain (config order) A (if the hostname
 * is in that zone), MX, SPF, DKIM (current selector, then retired ones), DMARC, TLS-RPT, SRV, MTA-STS
 * (policy host and id), autoconfig and autodiscover hosts, CAA; then DMARC external-report authorisations; then
 * `extraRecords` as configured.
 */
export function planRecords(config: MailStackConfig, ip: string, dkimPublicKeys: DkimPublicKeys): RecordSpec[] {
  if (isIP(ip) === 0) throw new Error(`server IP ${ip} is not an IP address`);
  const ttl = config.dnsTtl;
  const records: RecordSpec[] = [];
  const hostZone = zoneFor(config, config.hostname);
  if (!hostZone) throw new ConfigError([`mailserver:hostname: ${config.hostname} is not inside a hosted domain`]);
  const report = config.dmarcReportEmail;
  const reportDomain = report.slice(report.lastIndexOf("@") + 1);
  const address = isIP(ip) === 6 ? "AAAA" : "A";
  const stsRecord = txtContent(mtaStsRecord(mtaStsPolicy(config)));

  for (const d of config.domains) {
    const add = (name: string, type: RecordType, content: string, priority?: number) =>
      records.push({ zoneId: d.zoneId, zone: d.name, name, type, content, ...(priority === undefined ? {} : { priority }), ttl });
    if (hostZone.name === d.name) add(config.hostname, address, ip);
    add(d.name, "MX", config.hostname, 10);

    const spf = spfRecord(ip, config.spfAll);
    checkSpfLookups(spf, `SPF of ${d.name}`);
    add(d.name, "TXT", txtContent(spf));

    // Retired selectors stay published so that mail signed before the switch still verifies.
    for (const selector of dkimSelectors(config)) {
      const key = dkimPublicKeys[d.name]?.[selector];
      if (key === undefined) throw new Error(`no DKIM public key for ${d.name} (selector ${selector})`);
      add(`${selector}._domainkey.${d.name}`, "TXT", txtContent(dkimRecordContent(key)));
    }

    // Relaxed alignment (the defaults, stated): Mailgun's bounce domain may be a subdomain of ours.
    add(`_dmarc.${d.name}`, "TXT",
      txtContent(`v=DMARC1; p=${config.dmarcPolicy}; rua=mailto:${report}; adkim=r; aspf=r`));
    add(`_smtp._tls.${d.name}`, "TXT", txtContent(`v=TLSRPTv1; rua=mailto:${report}`));

    for (const s of SRV_SERVICES) {
      const target = s.port === 0 ? "." : config.hostname;
      add(`${s.service}.${d.name}`, "SRV", `${s.port === 0 ? 0 : 1} ${s.port} ${target}`, s.priority);
    }

    add(mtaStsHost(d.name), address, ip);
    add(`_mta-sts.${d.name}`, "TXT", stsRecord);
    add(autoconfigHost(d.name), address, ip);
    add(autodiscoverHost(d.name), address, ip);
    // At the apex, CAA covers every name below it (RFC 8659 §3): only the configured CA may issue.
    add(d.name, "CAA", caaContent(config.caaIssuer));
  }

  // RFC 7489 §7.1: reports for another organisation's domain are only sent if that organisation
  // publishes <domain>._report._dmarc.<its domain>. We can when the report address is ours;
  // otherwise the report domain's owner must publish it.
  const reportZone = zoneFor(config, reportDomain);
  for (const d of config.domains) {
    if (!reportZone || sameOrganisation(d.name, reportDomain)) continue;
    records.push({
      zoneId: reportZone.zoneId, zone: reportZone.name, name: `${d.name}._report._dmarc.${reportDomain}`,
      type: "TXT", content: txtContent("v=DMARC1"), ttl,
    });
  }

  config.extraRecords.forEach((e, i) => records.push(extraRecord(config, e, i, records)));
  checkDuplicates(records);
  return records;
}

function extraRecord(config: MailStackConfig, e: ExtraRecord, i: number, planned: RecordSpec[]): RecordSpec {
  const key = `mailserver:extraRecords[${i}]`;
  const zone = config.domains.find((d) => d.zoneId === e.zoneId);
  if (!zone) {
    throw new ConfigError([`${key}.zoneId: ${e.zoneId} is not the zoneId of a hosted domain (${config.domains.map((d) => `${d.name}: ${d.zoneId}`).join(", ")}) — use one of them`]);
  }
  // Cloudflare reads names relative to the zone unless they already end in it.
  const given = e.name.trim().toLowerCase().replace(/\.$/, "");
  const name = given === "@" ? zone.name
    : given === zone.name || given.endsWith(`.${zone.name}`) ? given : `${given}.${zone.name}`;
  let content = e.content.trim();
  if (e.type === "TXT") content = normaliseTxt(content, `${key}.content`);
  if (e.type === "MX" || e.type === "CNAME") content = content.replace(/\.$/, "");
  if ((e.type === "MX" || e.type === "SRV") && e.priority === undefined) {
    throw new ConfigError([`${key}.priority: a ${e.type} record needs a priority — set priority`]);
  }
  if (e.type === "SRV") {
    const parts = content.split(/\s+/);
    if (parts.length !== 3 || !/^\d+$/.test(parts[0]) || !/^\d+$/.test(parts[1])) {
      throw new ConfigError([`${key}.content: SRV content must be "weight port target" (priority goes in priority), e.g. 1 443 host.example.com`]);
    }
    content = `${parts[0]} ${parts[1]} ${parts[2].replace(/(.)\.$/, "$1")}`;
  }
  const clash = planned.find((p) => p.name === name && (p.type === "CNAME" || e.type === "CNAME" ||
    (e.type === "TXT" && p.type === "TXT" && sameKind(p.content, content))));
  if (clash) {
    throw new ConfigError([`${key}: ${name} ${e.type} clashes with the planned ${clash.type} record (${clash.content}) — remove it; the stack manages that record`]);
  }
  return { zoneId: zone.zoneId, zone: zone.name, name, type: e.type, content, ...(e.priority === undefined ? {} : { priority: e.priority }), ttl: e.ttl ?? config.dnsTtl };
}

/** Two TXT records of the same single-record kind (SPF, DKIM, DMARC, TLS-RPT, MTA-STS) at one name conflict. */
function sameKind(a: string, b: string): boolean {
  const kind = (c: string) => /^v=(spf1|DKIM1|DMARC1|TLSRPTv1|STSv1)\b/i.exec(txtStrings(c).join(""))?.[1].toLowerCase();
  return kind(a) !== undefined && kind(a) === kind(b);
}

function checkDuplicates(records: RecordSpec[]): void {
  const seen = new Set<string>();
  for (const r of records) {
    const k = `${r.zone} ${r.type} ${r.name} ${r.priority ?? ""} ${r.content}`;
    if (seen.has(k)) throw new ConfigError([`mailserver:extraRecords: ${r.name} ${r.type} ${r.content} is listed twice — remove the duplicate`]);
    seen.add(k);
  }
}
