// DNS questions the status checks ask, with answers in the comparable forms of record-compare.ts.
import { promises as dnsp } from "node:dns";
import type { RecordType } from "../core/records";
import { caaValue, mxValue, Served, srvValue, txtValue } from "./record-compare";
import type { TxtAnswer } from "./spf";
import { servedTlsa } from "./tlsa";
import { queryTlsa } from "./tlsa-query";

/** "no such name" and "no record of that type" are answers; anything else is a failure to ask. */
const ABSENT = new Set(["ENOTFOUND", "ENODATA"]);

const QUERY_TIMEOUT_MS = 3_000;

export function resolverFor(servers: string[], timeoutMs = QUERY_TIMEOUT_MS): dnsp.Resolver {
  const r = new dnsp.Resolver({ timeout: timeoutMs, tries: 2 });
  r.setServers(servers);
  return r;
}

export async function served(resolver: dnsp.Resolver, name: string, type: RecordType): Promise<Served> {
  try {
    switch (type) {
      case "A": return { values: await resolver.resolve4(name) };
      case "AAAA": return { values: (await resolver.resolve6(name)).map((a) => a.toLowerCase()) };
      case "MX": return { values: (await resolver.resolveMx(name)).map((m) => mxValue(m.priority, m.exchange)) };
      case "TXT": return { values: (await resolver.resolveTxt(name)).map(txtValue) };
      case "SRV": return { values: (await resolver.resolveSrv(name)).map((s) => srvValue(s.priority, s.weight, s.port, s.name)) };
      case "CNAME": return { values: (await resolver.resolveCname(name)).map((c) => c.toLowerCase().replace(/\.$/, "")) };
      case "CAA": return {
        values: (await resolver.resolveCaa(name)).map((c) => {
          const [tag, value] = Object.entries(c).find(([k]) => k !== "critical") ?? ["", ""];
          return caaValue(c.critical, tag, String(value));
        }),
      };
      // Node's resolver has no TLSA query: asked of the same servers with a message of our own.
      case "TLSA": return servedTlsa(await queryTlsa(resolver.getServers(), name, QUERY_TIMEOUT_MS));
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return ABSENT.has(code) ? { missing: code === "ENOTFOUND" ? "no such name" : `no ${type} record` } : { failed: code };
  }
}

/** TXT lookups for the SPF counter: an unreachable name (REFUSED, a timeout) is not a missing record. */
export function txtLookup(resolver: dnsp.Resolver): (name: string) => Promise<TxtAnswer> {
  return async (name) => {
    try {
      return { records: (await resolver.resolveTxt(name)).map(txtValue) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      return ABSENT.has(code) ? { missing: true } : { unreachable: `not resolvable from here (${code})` };
    }
  };
}

/** The zone's authoritative servers' addresses, found through `resolver` (a recursive one). */
export async function authoritativeServers(resolver: dnsp.Resolver, zone: string): Promise<string[]> {
  const names = await resolver.resolveNs(zone);
  const addresses = await Promise.all(names.map((n) => resolver.resolve4(n).catch(() => [] as string[])));
  const all = addresses.flat();
  if (all.length === 0) throw new Error(`no address for the nameservers of ${zone} (${names.join(", ")})`);
  return all;
}
