// Where the lab keeps its state and which addresses it uses: one place, so `down` finds all it made.
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "..");
/** Outside the repo so that `lab down` and a fresh checkout keep it (debootstrap is the slow part). */
export const CACHE = "/var/cache/mailserver-lab";

/**
 * LAB_INSTANCE=N (default 0) runs another lab beside the first: its own namespace, veth, /24, machine name, apt
 * cache and directory (.lab-N; instance 0's is .lab). The e2e suite runs its two lanes on instances 0 and 1.
 */
export const INSTANCE = labInstance(process.env.LAB_INSTANCE);
const suffix = INSTANCE === 0 ? "" : String(INSTANCE);
export const LAB = labDir(REPO, INSTANCE);

export function labDir(repo: string, instance: number): string {
  return path.join(repo, instance === 0 ? ".lab" : `.lab-${instance}`);
}
const octet = 213 + INSTANCE;

export function labInstance(value: string | undefined): number {
  const n = Number(value ?? "0");
  // 10.213+N must stay a valid octet.
  if (!Number.isInteger(n) || n < 0 || n > 42) throw new Error(`LAB_INSTANCE must be an integer 0-42, not ${value}`);
  return n;
}

export const NET = {
  netns: `mailserver-lab${suffix}`,
  hostIf: `mslab${INSTANCE}`,
  machineIf: "eth0",
  cidr: `10.${octet}.0.0/24`,
  host: `10.${octet}.0.1`,
  machine: `10.${octet}.0.2`,
  /**
   * More clients from the Internet's side, on the host end of the veth beside `host` (which stays the
   * primary address, so everything else still comes from it): tests/e2e/abuse gets one banned while
   * another still logs in, and spends the third's connection rate.
   */
  outside: [`10.${octet}.0.3`, `10.${octet}.0.4`, `10.${octet}.0.5`],
  prefix: 24,
} as const;
/** The lab network of instance 0, which lab/stack.yaml names in sshSourceRanges and abuseExemptRanges. */
export const DEFAULT_CIDR = "10.213.0.0/24";

export const MACHINE_NAME = `mailserver-lab${suffix}`;
/** Two apt-cacher-ng processes must not share one cache directory. */
export const APT_CACHE_DIR = `/var/cache/apt-cacher-ng${INSTANCE === 0 ? "" : `-${INSTANCE}`}`;
/** Names the lab itself serves from its DNS (zone lab.test): the stand-ins the machine must reach by name. */
export const LAB_ZONE = "lab.test";
export const RELAY_NAME = `relay.${LAB_ZONE}`;
export const ACME_NAME = `acme.${LAB_ZONE}`;
/**
 * The Internet's side of the lab: the name the e2e clients give in EHLO (with its A record and the host
 * address's PTR, as a decent outside MTA has), and outside mail domains with their own SPF, DKIM and DMARC
 * records, so that inbound verdicts are tested against real records (tests/e2e/filtering).
 */
export const CLIENT_ZONE = "client.test";
export const CLIENT_NAME = `e2e.${CLIENT_ZONE}`;
export const OUTSIDE_DOMAINS = {
  /** SPF allows the lab host, DKIM key published (signs with OUTSIDE_DKIM_SELECTOR), DMARC p=reject: passes. */
  genuine: `genuine.${LAB_ZONE}`,
  /** SPF -all, no DKIM, DMARC p=reject: every message from it fails DMARC. */
  strict: `strict.${LAB_ZONE}`,
  /** SPF -all, no DKIM, DMARC p=quarantine. */
  quarantined: `quarantined.${LAB_ZONE}`,
} as const;
export const OUTSIDE_DKIM_SELECTOR = "s1";
export const RELAY_PORT = 2525;
/** The Mailgun API stand-in (lab/mailgun-api-server.ts), HTTPS on the host's lab address (a lab CA certificate for it). */
export const MAILGUN_API_PORT = 8025;
/** Google's names the VM uses, served by the lab DNS (zones of their own) and lab/gcp-server.ts. */
export const SECRET_MANAGER_NAME = "secretmanager.googleapis.com";
export const METADATA_NAME = "metadata.google.internal";
/** The metadata server's link-local address, as on GCE; the host end of the machine's veth DNATs it to the stand-ins (lab/network.ts). */
export const METADATA_IP = "169.254.169.254";
export const METADATA_PORT = 8169;
export const SECRET_MANAGER_PORT = 443;
/** The lab's validating resolver (lab/resolver.ts): a loopback address of this instance's own. */
export const RESOLVER_ADDRESS = `127.${octet}.0.53`;
export const ACME_PORT = 14000;
export const ACME_MGMT_PORT = 15000;
export const APT_PROXY_PORT = 3142;

export const p = {
  pids: path.join(LAB, "pids"),
  logs: path.join(LAB, "logs"),
  state: path.join(LAB, "state"),
  ca: path.join(LAB, "ca"),
  dns: path.join(LAB, "dns"),
  acme: path.join(LAB, "acme"),
  relay: path.join(LAB, "relay"),
  relaySpool: path.join(LAB, "relay-spool"),
  /** What the Mailgun API stand-in keeps (domains, credentials as scrypt hashes); the relay stand-in reads it. */
  mailgunStore: path.join(LAB, "relay", "mailgun-store.json"),
  /** One JSON line per AUTH the relay stand-in answered (login, accepted or not): the e2e suite counts refusals. */
  relayAuthLog: path.join(LAB, "relay", "auth.jsonl"),
  /** Present: the relay stand-in refuses with 421 (the e2e suite holds mail in the server's queue with it). */
  relayPause: path.join(LAB, "relay", "pause"),
  machineRoot: path.join(LAB, "machine", "root"),
  disks: path.join(LAB, "disks"),
  /** The snapshot stand-in: a copy of a data disk's image per snapshot (`npm run lab -- snapshot`). */
  snapshots: path.join(LAB, "snapshots"),
  /** What the lab's Google Cloud holds for the VM: secret versions, secret readers, the instance's account. */
  cloud: path.join(LAB, "cloud.json"),
  knownHosts: path.join(LAB, "known_hosts"),
  labJson: path.join(LAB, "lab.json"),
  /** The DKIM private key of OUTSIDE_DOMAINS.genuine (made once per lab; the e2e tests sign with it). */
  outsideDkimKey: path.join(LAB, "outside", "dkim.pem"),
  // Not Pulumi.lab.yaml: the CLI would take that for a stack "lab" and refuse its plain relay password.
  stackConfig: path.join(REPO, "lab", "stack.yaml"),
  /** The engine's state between deploys, and what the last deploy did. */
  engineState: path.join(LAB, "state.json"),
  lastDeploy: path.join(LAB, "last-deploy.json"),
};
