// The lab as a status target (npm run status -- --lab): addresses and secrets from .lab/lab.json, the
// configuration from the stack file the lab was deployed with, DNS from the lab's knot only: nothing outside
// the lab is ever asked.
import * as fs from "node:fs";
import { z } from "zod";
import { parseConfig } from "../components/core/config";
import type { StatusTarget } from "../components/status/checks";
import { resolverFor } from "../components/status/dns";
import { readStackConfig } from "./deploy";
import { loadState } from "./engine/state";
import { CLIENT_NAME, OUTSIDE_DOMAINS, p } from "./paths";
import { run } from "./proc";

const labJsonSchema = z.object({
  ip: z.string(),
  dnsServer: z.object({ address: z.string(), port: z.number() }),
  resolver: z.string(),
  users: z.array(z.object({ address: z.string(), password: z.string() })),
  ssh: z.string(),
  acmeRoot: z.string(),
  configFile: z.string().optional(),
});

/**
 * `mailbox`: the round trip's mailbox, one of the lab's users (default the first); its password comes from lab.json.
 * `resolver`: the resolver asked about the TLSA record's validation (default the lab's validating one).
 */
export function labTarget(mailbox?: string, resolver?: string): StatusTarget {
  if (!fs.existsSync(p.labJson)) throw new Error(`${p.labJson} is missing: run npm run lab first`);
  const lab = labJsonSchema.parse(JSON.parse(fs.readFileSync(p.labJson, "utf8")));
  const config = parseConfig(readStackConfig(lab.configFile ?? p.stackConfig));
  const user = mailbox === undefined ? lab.users[0] : lab.users.find((u) => u.address === mailbox);
  const dns = resolverFor([`${lab.dnsServer.address}:${lab.dnsServer.port}`]);
  return {
    config,
    ip: lab.ip,
    onServer: (script) => run("sh", ["-c", `${lab.ssh} sudo -n bash -s`], { input: `set -euo pipefail\n${script}\n`, allowFail: true }),
    authoritative: () => Promise.resolve(dns),
    // knot answers only the lab's zones and refuses the rest: it never recurses to the Internet.
    resolver: dns,
    blocklistsSkipped: "not asked: the lab never queries DNS outside itself",
    tlsCa: fs.readFileSync(lab.acmeRoot, "utf8"),
    ehloName: CLIENT_NAME,
    outsideAddress: `status-probe@${OUTSIDE_DOMAINS.genuine}`,
    mailbox: user ?? { none: `${mailbox} is not a user of the lab (.lab/lab.json)` },
    // unbound, trusting the keys of the zones knot signs (lab/resolver.ts).
    validatingResolver: [resolver ?? lab.resolver],
    tlsaPlanned: labTlsaRecords(),
  };
}

/** The TLSA records the last lab deploy published: its state stands in for the stack output tlsaRecords. */
function labTlsaRecords(): string[] {
  return loadState(p.engineState).filter((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord" && r.inputs.type === "TLSA")
    .map((r) => String(r.outputs.content));
}
