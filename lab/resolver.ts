// A validating resolver for the lab: unbound, on a loopback address of its own, resolving only the zones the
// lab's knot serves (stub zones; every other name is refused, so nothing leaves the lab). `.test` has no
// parent chain, so the trust anchors are the DS records of the zones knot signs (lab/dns.ts): a signed zone's
// answers carry AD, an unsigned zone's are insecure, a forged or broken one is SERVFAIL.
import * as fs from "node:fs";
import * as path from "node:path";
import { NET, RESOLVER_ADDRESS, p } from "./paths";
import { daemonPid, run, startDaemon, stopDaemon, waitFor } from "./proc";

const dir = () => path.join(p.dns, "unbound");
export const resolverConf = () => path.join(dir(), "unbound.conf");

function config(zones: string[], trustAnchors: string[]): string {
  return [
    "server:",
    `    interface: ${RESOLVER_ADDRESS}`,
    "    port: 53",
    "    do-daemonize: no",
    '    username: ""',
    '    chroot: ""',
    `    directory: "${dir()}"`,
    '    pidfile: ""',
    "    use-syslog: no",
    "    log-servfail: yes",
    "    val-log-level: 2",
    "    do-ip6: no",
    "    access-control: 127.0.0.0/8 allow",
    "    module-config: \"validator iterator\"",
    // Nothing but the lab's zones: the root and every other name are refused, never looked up outside.
    '    local-zone: "." refuse',
    ...zones.map((z) => `    local-zone: "${z}." transparent`),
    ...trustAnchors.map((a) => `    trust-anchor: "${a}"`),
    "remote-control:",
    "    control-enable: yes",
    `    control-interface: "${path.join(dir(), "control.sock")}"`,
    "    control-use-cert: no",
    ...zones.flatMap((z) => ["stub-zone:", `    name: "${z}."`, `    stub-addr: ${NET.host}@53`]),
    "",
  ].join("\n");
}

export function unboundControl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run("unbound-control", ["-c", resolverConf(), ...args], { allowFail: true });
}

/** Writes the resolver's configuration for these zones and anchors; starts it, or reloads it when it changed. */
export async function syncResolver(zones: string[], trustAnchors: string[]): Promise<void> {
  fs.mkdirSync(dir(), { recursive: true });
  const text = config(zones, trustAnchors);
  const changed = !fs.existsSync(resolverConf()) || fs.readFileSync(resolverConf(), "utf8") !== text;
  if (changed) fs.writeFileSync(resolverConf(), text);
  if (daemonPid("unbound") === undefined) {
    await run("unbound-checkconf", [resolverConf()]);
    startDaemon("unbound", "unbound", ["-d", "-c", resolverConf()]);
    await waitFor("unbound", async () => (await unboundControl("status")).code === 0, 15000);
  } else if (changed) {
    await run("unbound-checkconf", [resolverConf()]);
    const r = await unboundControl("reload");
    if (r.code !== 0) throw new Error(`unbound-control reload: ${r.stderr || r.stdout}`);
  } else {
    // Same zones, new records: drop what the cache holds so that answers follow the zones at once.
    for (const z of zones) await unboundControl("flush_zone", z);
    await unboundControl("flush_bogus");
    await unboundControl("flush_negative");
  }
}

export async function resolverDown(): Promise<void> {
  await stopDaemon("unbound");
}
