// Queries the lab's authoritative DNS server, never the host's resolver.
import { promises as dnsp } from "node:dns";
import type { DNSResolver } from "mailauth";
import { Lab } from "./lab";

export function labResolver(lab: Lab): dnsp.Resolver {
  const r = new dnsp.Resolver({ timeout: 3_000, tries: 2 });
  r.setServers([`${lab.dnsServer.address}:${lab.dnsServer.port}`]);
  return r;
}

/** mailauth's resolver hook: same shapes as dns.promises.resolve (TXT as chunk arrays, MX as objects). */
export function mailauthResolver(lab: Lab): DNSResolver {
  const r = labResolver(lab);
  // mailauth passes the record type as a string and handles each type's native shape itself.
  return (name, rrtype) => r.resolve(name, rrtype) as unknown as Promise<string[][] | string[]>;
}

export async function txt(lab: Lab, name: string): Promise<string[]> {
  return (await labResolver(lab).resolveTxt(name)).map((chunks) => chunks.join(""));
}
