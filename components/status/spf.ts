// SPF's 10-lookup limit (RFC 7208 §4.6.4), counted on the published records, following include: and
// redirect= as far as DNS answers. The TXT lookup is passed in, so the counting is tested without DNS.
import { SPF_MAX_LOOKUPS } from "../core/records";

/** A TXT lookup's answer: the records (chunks joined), no such record, or no way to ask (and why). */
export type TxtAnswer = { records: string[] } | { missing: true } | { unreachable: string };
export type TxtLookup = (name: string) => Promise<TxtAnswer>;

export interface SpfTerm {
  /** include, a, mx, ptr, exists, ip4, ip6, all, redirect, exp, or an unknown modifier's name. */
  name: string;
  /** The domain or value after ":" or "=", if any. */
  value?: string;
}

/** The terms of a v=spf1 record, qualifiers dropped; throws if it is not SPF. */
export function spfTerms(record: string): SpfTerm[] {
  const [version, ...terms] = record.trim().split(/\s+/);
  if (version.toLowerCase() !== "v=spf1") throw new Error(`not an SPF record: ${record}`);
  return terms.map((t) => {
    const m = /^[+?~-]?([a-z0-9_.-]+)(?:([:=/])(.*))?$/i.exec(t);
    if (!m) return { name: t.toLowerCase() };
    return m[2] === ":" || m[2] === "=" ? { name: m[1].toLowerCase(), value: m[3] } : { name: m[1].toLowerCase() };
  });
}

/** Terms that cost one DNS lookup each when evaluated. */
const COUNTED = new Set(["include", "a", "mx", "ptr", "exists", "redirect"]);

export interface SpfCount {
  lookups: number;
  /** What could not be followed here (counted as 1 each, nested lookups unknown). */
  notes: string[];
  /** What makes receivers return permerror (no record behind an include, two records, a loop). */
  problems: string[];
}

/** The lookups that evaluating `domain`'s SPF record costs, nested includes and redirects included. */
export async function countSpfLookups(domain: string, lookup: TxtLookup): Promise<SpfCount> {
  const count: SpfCount = { lookups: 0, notes: [], problems: [] };
  await follow(domain, lookup, count, [domain]);
  return count;
}

async function follow(domain: string, lookup: TxtLookup, count: SpfCount, chain: string[]): Promise<void> {
  const answer = await lookup(domain);
  if ("unreachable" in answer) {
    count.notes.push(`${domain}: ${answer.unreachable}`);
    return;
  }
  const records = "missing" in answer ? [] : answer.records.filter((r) => /^v=spf1(\s|$)/i.test(r.trim()));
  if (records.length !== 1) {
    count.problems.push(`${domain} has ${records.length === 0 ? "no SPF record" : `${records.length} SPF records`}`);
    return;
  }
  for (const term of spfTerms(records[0])) {
    if (!COUNTED.has(term.name)) continue;
    count.lookups += 1;
    // Past the limit the verdict is known; a, mx, ptr and exists cost one lookup and lead nowhere.
    if (count.lookups > SPF_MAX_LOOKUPS || (term.name !== "include" && term.name !== "redirect") || !term.value) continue;
    const target = term.value.toLowerCase().replace(/\.$/, "");
    if (target.includes("%")) {
      count.notes.push(`${term.name} ${target}: a macro, expanded only per message`);
    } else if (chain.includes(target)) {
      count.problems.push(`${[...chain, target].join(" → ")} is a loop`);
    } else {
      await follow(target, lookup, count, [...chain, target]);
    }
  }
}
