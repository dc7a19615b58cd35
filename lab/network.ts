// The lab network: a namespace for the machine, joined to the host by a veth pair. No route beyond the
// host: the machine reaches only the stand-ins on the host address (apt goes through the proxy there).
import * as fs from "node:fs";
import { METADATA_IP, METADATA_PORT, NET } from "./paths";
import { ok, run } from "./proc";

const ip = (...args: string[]) => run("ip", args);
const inNs = (...args: string[]) => run("ip", ["-n", NET.netns, ...args]);

export function netnsExists(): boolean {
  return fs.existsSync(`/run/netns/${NET.netns}`);
}

export async function networkUp(): Promise<void> {
  if (!netnsExists()) await ip("netns", "add", NET.netns);
  if (!(await ok("ip", ["link", "show", NET.hostIf]))) {
    await ip("link", "add", NET.hostIf, "type", "veth", "peer", "name", NET.machineIf, "netns", NET.netns);
  }
  await ip("addr", "replace", `${NET.host}/${NET.prefix}`, "dev", NET.hostIf);
  for (const a of NET.outside) await ip("addr", "replace", `${a}/${NET.prefix}`, "dev", NET.hostIf);
  await ip("link", "set", NET.hostIf, "up");
  await inNs("addr", "replace", `${NET.machine}/${NET.prefix}`, "dev", NET.machineIf);
  await inNs("link", "set", "lo", "up");
  await inNs("link", "set", NET.machineIf, "up");
  await inNs("route", "replace", "default", "via", NET.host);
  // GCE answers 169.254.169.254:80 (the metadata server) from the hypervisor; here the machine's own
  // namespace sends it to the stand-in on the host address. Each lab instance has its own namespace.
  const dnat = ["-t", "nat", "OUTPUT", "-d", `${METADATA_IP}/32`, "-p", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", `${NET.host}:${METADATA_PORT}`];
  const inNsIptables = (op: string) => ["netns", "exec", NET.netns, "iptables", dnat[0], dnat[1], op, ...dnat.slice(2)];
  if (!(await ok("ip", inNsIptables("-C")))) await run("ip", inNsIptables("-A"));
}

export async function networkDown(): Promise<void> {
  if (await ok("ip", ["link", "show", NET.hostIf])) await ip("link", "del", NET.hostIf);
  if (netnsExists()) await ip("netns", "del", NET.netns);
}
