// Issue 20 §3: dropping a domain from the stack must leave its zone signed. Cloudflare's ZoneDnssec delete turns
// signing off for the whole zone while the registrar keeps publishing the DS, and every validating resolver then
// refuses the domain (SERVFAIL). The lab's Cloudflare stand-in really turns signing off on that delete, and its
// resolver trusts the registrar's DS, which no deploy takes back (lab/dns.ts). The stack retains the
// ZoneDnssec, so the dropped domain's zone still validates; the control is the same query before the drop.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { loadLab } from "../lib/lab";
import { configCopy, deployLab, DeployRecord, ensureDeployed, labConfigFile } from "../lib/deploy";
import { resolve } from "../lib/dane";

const DEPLOY_TIMEOUT = 30 * 60_000;
const lab = loadLab();
const configFile = labConfigFile(lab);
const DROPPED = "example2.test";

interface LabConfig {
  "mailserver:extraDomains": { name: string }[];
  "mailserver:users": { address: string }[];
  "mailserver:aliases": { source: string; destinations: string[] }[];
}

/** The lab's config without the extra domain, its users and its aliases (mail there is no longer ours). */
function withoutDropped(): string {
  const c = (parse(readFileSync(configFile, "utf8")) as { config: LabConfig }).config;
  const ours = (a: string) => !a.endsWith(`@${DROPPED}`);
  return configCopy(configFile, "drop-domain", {
    "mailserver:extraDomains": c["mailserver:extraDomains"].filter((d) => d.name !== DROPPED),
    "mailserver:users": c["mailserver:users"].filter((u) => ours(u.address)),
    "mailserver:aliases": c["mailserver:aliases"].filter((a) => ours(a.source))
      .map((a) => ({ ...a, destinations: a.destinations.filter(ours) })),
  });
}

describe(`dropping ${DROPPED} from a stack with mailserver:dnssec`, () => {
  let dropped: DeployRecord;

  beforeAll(async () => {
    await ensureDeployed(configFile);
    // Control: signed and validated before the drop.
    expect(await resolve(lab, DROPPED, "SOA")).toMatchObject({ status: "NOERROR", ad: true });
    dropped = await deployLab(withoutDropped());
  }, DEPLOY_TIMEOUT);

  // Back to the lab's own config: the domain and its records return (its ZoneDnssec is made again: a PATCH to active).
  afterAll(async () => {
    await deployLab(configFile);
    const mx = await resolve(lab, DROPPED, "MX");
    expect(mx).toMatchObject({ status: "NOERROR", ad: true });
    expect(mx.records).not.toEqual([]);
  }, DEPLOY_TIMEOUT);

  test("the deploy removes the domain's ZoneDnssec from the stack and its records from DNS", async () => {
    expect(dropped.operations).toContainEqual(expect.objectContaining({ op: "delete", name: `mail-dnssec-${DROPPED}` }));
    const mx = await resolve(lab, DROPPED, "MX");
    expect(mx.records).toEqual([]);
  });

  test("the zone is still signed, so it still validates against the registrar's DS", async () => {
    expect(await resolve(lab, DROPPED, "SOA")).toMatchObject({ status: "NOERROR", ad: true });
  });
});
