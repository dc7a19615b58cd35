// Planned DNS records against what the authoritative servers serve, in one comparable text form per type.
import type { RecordSpec } from "../core/records";
import { txtStrings } from "../core/records";
import { CheckResult, error, ok } from "./result";

/** What a query for one name and type gave: the values in comparable form, nothing, or a failure. */
export type Served = { values: string[] } | { missing: string } | { failed: string };

const host = (name: string) => (name === "" ? "." : name.toLowerCase().replace(/(.)\.$/, "$1"));

export const mxValue = (priority: number, exchange: string) => `${priority} ${host(exchange)}`;
export const srvValue = (priority: number, weight: number, port: number, target: string) => `${priority} ${weight} ${port} ${host(target)}`;
/** TXT compares as the joined text: how a record is cut into 255-byte strings does not change its meaning. */
export const txtValue = (chunks: string[]) => chunks.join("");
export const caaValue = (flags: number, tag: string, value: string) => `${flags} ${tag.toLowerCase()} ${value}`;

/** A planned record in the form the comparable served values have. */
export function plannedValue(r: RecordSpec): string {
  switch (r.type) {
    case "MX": return mxValue(r.priority ?? 0, r.content);
    case "SRV": {
      const [weight, port, target] = r.content.split(/\s+/);
      return srvValue(r.priority ?? 0, Number(weight), Number(port), target);
    }
    case "TXT": return txtValue(txtStrings(r.content));
    case "CNAME": return host(r.content);
    case "CAA": {
      const m = /^(\d+)\s+(\S+)\s+"?(.*?)"?$/.exec(r.content.trim());
      return m ? caaValue(Number(m[1]), m[2], m[3]) : r.content;
    }
    case "AAAA": return r.content.toLowerCase();
    default: return r.content;
  }
}

export const recordId = (r: Pick<RecordSpec, "type" | "name">) => `dns:${r.type}:${r.name}`;

/**
 * The CAA records Cloudflare serves beside a zone's own whenever the zone has any CAA record while Universal SSL
 * (or an advanced certificate) is on, so that it can still issue its edge certificates; the dashboard does not
 * show them. "CAA records added by Cloudflare", https://developers.cloudflare.com/ssl/edge-certificates/caa-records/
 * (cloudflare/cloudflare-docs src/content/partials/ssl/caa-records-added-by-cf.mdx), in caaValue form.
 */
export const CLOUDFLARE_CAA_RECORDS = ["pki.goog; cansignhttpexchanges=yes", "letsencrypt.org", "ssl.com", "sectigo.com"]
  .flatMap((value) => [{ flags: 0, tag: "issue", value }, { flags: 0, tag: "issuewild", value }]);
export const CLOUDFLARE_CAA = CLOUDFLARE_CAA_RECORDS.map((r) => caaValue(r.flags, r.tag, r.value));

/** Every planned record of one name and type: the set that must be served, nothing more, nothing less. */
export interface RecordSet {
  zone: string;
  name: string;
  type: RecordSpec["type"];
  values: string[];
}

/** The plan as record sets, in plan order (first appearance of each name and type). */
export function recordSets(plan: RecordSpec[]): RecordSet[] {
  const sets = new Map<string, RecordSet>();
  for (const r of plan) {
    const key = recordId(r);
    const set = sets.get(key) ?? { zone: r.zone, name: r.name, type: r.type, values: [] };
    set.values.push(plannedValue(r));
    sets.set(key, set);
  }
  return [...sets.values()];
}

const shorten = (s: string) => (s.length > 72 ? `${s.slice(0, 69)}…` : s);
const list = (values: string[]) => values.map((v) => JSON.stringify(shorten(v))).join(", ");

/**
 * The served set against the planned one, exactly: a missing or changed value is an error, and so is any value
 * served beside ours (an MX of better priority diverts the mail, a second v=STSv1 makes senders ignore MTA-STS,
 * another CAA issuer may issue for us). Only Cloudflare's own CAA issuers are expected extras: named, not an error.
 * A set planned empty (the other address family at one of our names) must be absent.
 */
export function compareRecordSet(set: RecordSet, served: Served): CheckResult {
  const id = recordId(set);
  const planned = set.values;
  if ("failed" in served) return error(id, `the authoritative servers did not answer (${served.failed}) — check the zone's NS records at the registrar`);
  if ("missing" in served) {
    return planned.length === 0 ? ok(id, `none served, as planned`)
      : error(id, `not served (${served.missing}), planned ${list(planned)} — run pulumi up to create it`);
  }
  const missing = planned.filter((v) => !served.values.includes(v));
  const extra = served.values.filter((v) => !planned.includes(v));
  const cloudflare = set.type === "CAA" ? extra.filter((v) => CLOUDFLARE_CAA.includes(v)) : [];
  const foreign = extra.filter((v) => !cloudflare.includes(v));
  const remove = `delete ${foreign.length === 1 ? "it" : "them"} in Cloudflare, or declare ${foreign.length === 1 ? "it" : "them"} in mailserver:extraRecords`;
  if (missing.length > 0) {
    return error(id, `served ${list(served.values)} instead of ${list(planned)} — someone changed it outside Pulumi: run pulumi up to put it back` +
      (foreign.length > missing.length ? `, and ${remove}` : ""));
  }
  if (foreign.length > 0) {
    return error(id, `${list(foreign)} served beside ${planned.length > 0 ? `the planned ${list(planned)}` : `our ${set.type === "AAAA" ? "A" : "AAAA"} record`}, ` +
      `not by this stack — ${remove}`);
  }
  const note = cloudflare.length > 0
    ? `; beside it Cloudflare's own CAA issuers for its Universal SSL certificates (not in the dashboard): ${cloudflare.join(", ")}` : "";
  return ok(id, `served as planned: ${planned.map(shorten).join(", ")}${note}`);
}
