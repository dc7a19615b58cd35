// The lab's description (.lab/lab.json, written by `npm run lab`): the only source of addresses and secrets.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { labDir, labInstance } from "../../../lab/paths";

export const ROOT = resolve(__dirname, "../../..");
/** .lab, or .lab-N for LAB_INSTANCE=N (lab/paths.ts). */
export const LAB_DIR = labDir(ROOT, labInstance(process.env.LAB_INSTANCE));
export const LAB_JSON = join(LAB_DIR, "lab.json");

const userSchema = z.object({ address: z.string(), password: z.string() });
const labSchema = z.object({
  ip: z.string(),
  hostname: z.string(),
  dnsServer: z.object({ address: z.string(), port: z.number() }),
  /** The lab's validating resolver (unbound, port 53), trusting the signed lab zones' keys. */
  resolver: z.string(),
  users: z.array(userSchema),
  relay: z.object({
    host: z.string(),
    /** The relay's DNS name in the lab zone, when host is an address. */
    name: z.string().optional(),
    port: z.number(),
    username: z.string(),
    password: z.string(),
    spoolDir: z.string(),
    /** While this file exists the relay stand-in answers 421 (lab/relay-server.ts). */
    pauseFile: z.string().optional(),
    /** One JSON line per AUTH the relay stand-in answered: {at, login, accepted} (lab/relay-server.ts). */
    authLog: z.string(),
    /** The Mailgun API stand-in's store: domains and credentials (lab/mailgun-api-server.ts). */
    mailgunStore: z.string(),
  }),
  ssh: z.string(),
  acmeRoot: z.string(),
  hostAddress: z.string(),
  /** More outside clients beside hostAddress, which abuseExemptRanges does not name (lab/paths.ts NET.outside). */
  outsideAddresses: z.array(z.string()).optional(),
  machine: z.string(),
  /** The stack file the lab was deployed with (default lab/stack.yaml). */
  configFile: z.string().optional(),
  /** The machine's Debian release (mailserver:image, or LAB_IMAGE). */
  release: z.number(),
  /** The unit the Postfix master runs in: postfix@- on Debian 12, postfix on 13 (components/core/release.ts). */
  postfixUnit: z.string(),
});
export type Lab = z.infer<typeof labSchema>;
export type LabUser = z.infer<typeof userSchema>;

export function loadLab(): Lab {
  if (!existsSync(LAB_JSON)) throw new Error(`${LAB_JSON} is missing: run npm run lab (the e2e globalSetup does)`);
  return labSchema.parse(JSON.parse(readFileSync(LAB_JSON, "utf8")));
}

export function labUser(lab: Lab, address: string): LabUser {
  const u = lab.users.find((x) => x.address === address);
  if (!u) throw new Error(`lab.json has no user ${address} (has ${lab.users.map((x) => x.address).join(", ")})`);
  return u;
}

/** The ACME stand-in's root: what every TLS client in the suite trusts, and nothing else. */
export function labCa(lab: Lab): string {
  return readFileSync(lab.acmeRoot, "utf8");
}

/** A token unique to this run, put in subjects so that a search cannot match an older message. */
export function token(label: string): string {
  return `e2e-${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * An outside sender for mail arriving on port 25: a domain the lab DNS knows (the relay stand-in's name)
 * but the server does not host, so that sender-domain checks see a real, foreign domain.
 */
export function outsideSender(lab: Lab): string {
  return `someone@${lab.relay.name ?? "outside.test"}`;
}
