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

const shorten = (s: string) => (s.length > 72 ? `${s.slice(0, 69)}…` : s);

/** ok when the planned value is among those served; otherwise an error that shows both and the fix. */
export function compareRecord(r: RecordSpec, served: Served): CheckResult {
  const id = recordId(r);
  const planned = plannedValue(r);
  if ("failed" in served) return error(id, `the authoritative servers did not answer (${served.failed}) — check the zone's NS records at the registrar`);
  if ("missing" in served) return error(id, `not served (${served.missing}), planned ${JSON.stringify(shorten(planned))} — run pulumi up to create it`);
  if (served.values.includes(planned)) return ok(id, `served as planned: ${shorten(planned)}`);
  return error(id, `served ${served.values.map((v) => JSON.stringify(shorten(v))).join(", ")} instead of ${JSON.stringify(shorten(planned))}` +
    " — someone changed it outside Pulumi: run pulumi up to put it back");
}
