// The DANE checks of npm run status, pure: TLSA questions and answers as DNS messages (dns-packet encodes and
// decodes them: Node's resolver has no TLSA query), and the verdicts on what port 25 presents, what DNS
// serves, what the stack planned, and whether a validating resolver authenticated the answer (AD).
import * as packet from "dns-packet";
import { tlsaContent } from "../core/dane";
import type { Served } from "./record-compare";
import { CheckResult, error, ok, skip, warning } from "./result";

/** What a TLSA question got: the response code, the AD and TC bits, the records as "usage selector type hex". */
export interface TlsaAnswer {
  rcode: number;
  ad: boolean;
  truncated: boolean;
  records: string[];
}

/** RCODEs (RFC 1035 §4.1.1, RFC 6895) by number, for messages. */
const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
export const rcodeName = (rcode: number) => RCODES[rcode] ?? `RCODE ${rcode}`;

/**
 * A recursive TLSA question with EDNS0 and DO (RFC 4035 §3.2.1) and AD (RFC 6840 §5.7), so that a validating
 * resolver says whether it authenticated the answer. Authoritative servers ignore RD and AD. 1232 bytes: the
 * EDNS buffer size that avoids fragmentation (DNS flag day 2020); larger answers come back truncated (then TCP).
 */
export function tlsaQuestion(name: string, id: number): packet.Packet {
  return {
    type: "query",
    id,
    flags: packet.RECURSION_DESIRED | packet.AUTHENTIC_DATA,
    questions: [{ type: "TLSA", name }],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: packet.DNSSEC_OK, flag_do: true, options: [] }],
  };
}

export const tlsaValue = (usage: number, selector: number, matchingType: number, data: Buffer) =>
  `${usage} ${selector} ${matchingType} ${data.toString("hex")}`;

/** The TLSA records at `name` in a response to question `id` (RRSIGs and other types left out). */
export function readTlsaAnswer(message: Buffer, name: string, id: number): TlsaAnswer {
  const m = packet.decode(message);
  if (m.type !== "response" || m.id !== id) throw new Error(`not the answer to question ${id}`);
  const owner = name.toLowerCase().replace(/\.$/, "");
  const records = (m.answers ?? []).flatMap((a) => (a.type === "TLSA" && a.name.toLowerCase().replace(/\.$/, "") === owner
    ? [tlsaValue(a.data.usage, a.data.selector, a.data.matchingType, a.data.certificate)] : []));
  return { rcode: (m.flags ?? 0) & 0xf, ad: m.flag_ad, truncated: m.flag_tc, records };
}

/** An authoritative answer in the form the other record checks use. */
export function servedTlsa(a: TlsaAnswer): Served {
  if (a.rcode === 3) return { missing: "no such name" };
  if (a.rcode !== 0) return { failed: rcodeName(a.rcode) };
  return a.records.length === 0 ? { missing: "no TLSA record" } : { values: a.records };
}

export const tlsaCheckId = (name: string) => `dane:${name}`;
export const dnssecCheckId = (name: string) => `dnssec:${name}`;

/** With mailserver:dnssec off there is no TLSA record to check, and nothing to validate. */
export function daneSkipped(name: string): CheckResult[] {
  const why = "mailserver:dnssec is off, so no TLSA record is published (DANE needs a signed zone); turn it on to protect port 25 from STARTTLS stripping";
  return [skip(tlsaCheckId(name), why), skip(dnssecCheckId(name), why)];
}

/** SHA-256 of the SubjectPublicKeyInfo of the certificate a port presented, or why there is none. */
export type Presented = { spki: string } | { failed: string };

export interface TlsaSeen {
  /** _25._tcp.<hostname> */
  name: string;
  /** The TLSA records the authoritative servers serve. */
  served: Served;
  /** What port 25 presents after STARTTLS. */
  presented: Presented;
  /** The records the stack published ("3 1 1 <hex>"), or why they are not known here. */
  planned: string[] | { unknown: string };
}

const FIX = "run pulumi up; if the key changed on the server, put the stack's key back (mailserver-tls install, see docs/dns.md \"DNSSEC and DANE\")";

/**
 * DANE-EE for port 25: a record must match the key the server presents, or DANE senders refuse to deliver
 * (RFC 7672 §2.2); the served records must be those the stack planned (the current key, and the next one
 * during a rollover), so that nothing outside Pulumi changed them.
 */
export function assessTlsa(s: TlsaSeen): CheckResult {
  const id = tlsaCheckId(s.name);
  if ("failed" in s.served) return error(id, `the authoritative servers did not answer the TLSA question (${s.served.failed}) — check the zone's NS records at the registrar`);
  if ("missing" in s.served) return error(id, `no TLSA record is served at ${s.name} (${s.served.missing}) while mailserver:dnssec is on — run pulumi up to publish it`);
  if ("failed" in s.presented) return error(id, `could not read the key port 25 presents (${s.presented.failed}) — check that Postfix offers STARTTLS`);
  const served = s.served.values.map((v) => v.toLowerCase());
  const presented = tlsaContent(s.presented.spki);
  if (!served.includes(presented)) {
    return error(id, `port 25 presents a key (SPKI SHA-256 ${s.presented.spki}) that no TLSA record at ${s.name} names ` +
      `(served: ${served.join(", ")}): DANE senders refuse to deliver — ${FIX}`);
  }
  if (!Array.isArray(s.planned)) return ok(id, `port 25 presents the key that ${presented} names (planned records not compared: ${s.planned.unknown})`);
  const planned = s.planned.map((v) => v.toLowerCase());
  const missing = planned.filter((v) => !served.includes(v));
  const extra = served.filter((v) => !planned.includes(v));
  if (missing.length > 0 || extra.length > 0) {
    return error(id, `served TLSA records differ from the stack's: ${[...missing.map((v) => `missing ${v}`), ...extra.map((v) => `unexpected ${v}`)].join(", ")}` +
      " — someone changed them outside Pulumi: run pulumi up to put them back");
  }
  const next = planned.length > 1 ? `, and the next key's record (rollover) is published beside it` : "";
  return ok(id, `port 25 presents the key that ${presented} names, served as planned${next}`);
}

/**
 * Whether a validating resolver authenticated the TLSA answer: DANE senders use a record only when it is
 * (RFC 7672 §2.2). SERVFAIL from a validating resolver for a signed zone means bogus: validating senders then
 * cannot deliver at all.
 */
export function assessTlsaValidation(name: string, resolver: string, answer: TlsaAnswer | { failed: string }): CheckResult {
  const id = dnssecCheckId(name);
  if ("failed" in answer) return warning(id, `the resolver ${resolver} did not answer (${answer.failed}), so validation was not checked`);
  if (answer.rcode === 2) {
    return error(id, `the validating resolver ${resolver} answers SERVFAIL for ${name}: DNSSEC is probably bogus (a DS at the registrar that matches no key), and validating senders cannot deliver — compare the registrar's DS with pulumi stack output dnssecDs`);
  }
  if (answer.rcode !== 0 || answer.records.length === 0) return warning(id, `the resolver ${resolver} answers ${rcodeName(answer.rcode)} with ${answer.records.length} TLSA record(s) for ${name}, so validation was not checked`);
  if (answer.ad) return ok(id, `${name} is DNSSEC-validated (AD) by ${resolver}`);
  return warning(id, `${resolver} returned ${name} without AD (not validated): DANE senders ignore the record — give the registrar the DS records of pulumi stack output dnssecDs, or ask a validating resolver (--resolver)`);
}
