// The lab network: a namespace for the machine, joined to the host by a veth pair. No route beyond the
// host: the machine reaches only the stand-ins on the host address (apt goes through the proxy there).
import * as fs from "node:fs";
import { NET } from "./paths";
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
  await ip("link", "set", NET.hostIf, "up");
  await inNs("addr", "replace", `${NET.machine}/${NET.prefix}`, "dev", NET.machineIf);
  await inNs("link", "set", "lo", "up");
  await inNs("link", "set", NET.machineIf, "up");
  await inNs("route", "replace", "default", "via", NET.host);
}

export async function networkDown(): Promise<void> {
  if (await ok("ip", ["link", "show", NET.hostIf])) await ip("link", "del", NET.hostIf);
  if (netnsExists()) await ip("netns", "del", NET.netns);
}
