// The records plan as BIND zone files and JSON, one per zone: for review (`npm run render`), for
// `named-checkzone`, and for the local authoritative server of the lab. SOA and NS are made up
// for local use (Cloudflare owns them in production); serial 1 keeps the output deterministic.
import { RecordSpec } from "./records";

/** Cloudflare's "automatic" TTL (1) is 300 seconds. */
const AUTO_TTL = 300;

function absolute(name: string): string {
  return name.endsWith(".") ? name : `${name}.`;
}

/** RDATA in master-file syntax: targets absolute, priorities in front. */
function rdata(r: RecordSpec): string {
  switch (r.type) {
    case "MX":
      return `${r.priority ?? 0} ${absolute(r.content)}`;
    case "CNAME":
      return absolute(r.content);
    case "SRV": {
      const [weight, port, target] = r.content.split(/\s+/);
      return `${r.priority ?? 0} ${weight} ${port} ${absolute(target)}`;
    }
    default:
      // A, AAAA, CAA as stored; TXT is already quoted character-strings.
      return r.content;
  }
}

export function zoneFiles(records: RecordSpec[]): { zone: string; bind: string; json: string }[] {
  const zones = [...new Set(records.map((r) => r.zone))];
  return zones.map((zone) => {
    const inZone = records.filter((r) => r.zone === zone);
    const origin = absolute(zone);
    const lines = [
      `; ${zone}: records planned by the mailserver stack (SOA and NS for local use only)`,
      `$ORIGIN ${origin}`,
      `$TTL ${AUTO_TTL}`,
      `@ ${AUTO_TTL} IN SOA ns1.${origin} hostmaster.${origin} 1 7200 3600 1209600 ${AUTO_TTL}`,
      `@ ${AUTO_TTL} IN NS ns1.${origin}`,
      `ns1.${origin} ${AUTO_TTL} IN A 127.0.0.1`,
      ...inZone.map((r) => `${absolute(r.name)} ${r.ttl === 1 ? AUTO_TTL : r.ttl} IN ${r.type} ${rdata(r)}`),
    ];
    return { zone, bind: `${lines.join("\n")}\n`, json: `${JSON.stringify(inZone, null, 2)}\n` };
  });
}
