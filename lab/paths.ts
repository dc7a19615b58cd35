// Where the lab keeps its state and which addresses it uses: one place, so `down` finds all it made.
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "..");
export const LAB = path.join(REPO, ".lab");
/** Outside the repo so that `lab down` and a fresh checkout keep it (debootstrap is the slow part). */
export const CACHE = "/var/cache/mailserver-lab";

export const NET = {
  netns: "mailserver-lab",
  hostIf: "mslab0",
  machineIf: "eth0",
  cidr: "10.213.0.0/24",
  host: "10.213.0.1",
  machine: "10.213.0.2",
  prefix: 24,
} as const;

export const MACHINE_NAME = "mailserver-lab";
/** Names the lab itself serves from its DNS (zone lab.test): the stand-ins the machine must reach by name. */
export const LAB_ZONE = "lab.test";
export const RELAY_NAME = `relay.${LAB_ZONE}`;
export const ACME_NAME = `acme.${LAB_ZONE}`;
export const RELAY_PORT = 2525;
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
  machineRoot: path.join(LAB, "machine", "root"),
  disks: path.join(LAB, "disks"),
  secrets: path.join(LAB, "secrets.json"),
  knownHosts: path.join(LAB, "known_hosts"),
  labJson: path.join(LAB, "lab.json"),
  stackConfig: path.join(REPO, "Pulumi.lab.yaml"),
};
