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

/** The host's end of the lab's veth exists: the lab network's addresses route there, and nowhere else. */
export function labNetworkUp(): boolean {
  return fs.existsSync(`/sys/class/net/${NET.hostIf}`);
}

/** An address of this lab instance's /24 (NET.cidr). */
export function inLabNetwork(address: string): boolean {
  return address.startsWith(NET.cidr.replace(/0\/24$/, ""));
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
  // A lab brought up before the metadata server moved out of the machine's namespace (below) loses the old DNAT.
  const oldDnat = (op: string) => ["netns", "exec", NET.netns, "iptables", "-t", "nat", op, "OUTPUT", "-d", `${METADATA_IP}/32`,
    "-p", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", `${NET.host}:${METADATA_PORT}`];
  while (await ok("ip", oldDnat("-C"))) await run("ip", oldDnat("-D"));
  for (const rule of metadataRules()) if (!(await ok("iptables", rule("-C")))) await run("iptables", rule("-A"));
}

/**
 * GCE answers 169.254.169.254 from outside the VM: HTTP on 80 (the metadata server), DNS on 53 (the VM's
 * resolver). Here the packets leave the machine's namespace like any other and the host end of its veth
 * sends them to the stand-ins (lab/gcp-server.ts, knot): nothing in the machine's own netfilter is the lab's,
 * so a rule there (the provisioning's metadata guard on the socket's owner) sees them as on GCE.
 */
function metadataRules(): ((op: string) => string[])[] {
  const to = (proto: string, port: string, dest: string) => (op: string) =>
    ["-t", "nat", op, "PREROUTING", "-i", NET.hostIf, "-d", `${METADATA_IP}/32`, "-p", proto, "--dport", port, "-j", "DNAT", "--to-destination", dest];
  return [to("tcp", "80", `${NET.host}:${METADATA_PORT}`), to("udp", "53", `${NET.host}:53`), to("tcp", "53", `${NET.host}:53`)];
}

export async function networkDown(): Promise<void> {
  for (const rule of metadataRules()) while (await ok("iptables", rule("-C"))) await run("iptables", rule("-D"));
  if (await ok("ip", ["link", "show", NET.hostIf])) await ip("link", "del", NET.hostIf);
  if (netnsExists()) await ip("netns", "del", NET.netns);
}
