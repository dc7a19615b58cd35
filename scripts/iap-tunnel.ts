// `npm run iap-tunnel -- <stack>`: keeps an Identity-Aware Proxy TCP tunnel from 127.0.0.1:<iapTunnelPort> to
// port 22 of the stack's VM, for stacks with mailserver:sshViaIap (the deploy connects there). It finds the VM
// by the stack's network tag (core/names.ts), so it can be started before the first `pulumi up` has made the
// VM, and it reconnects when the VM is replaced; CI starts it in the background before pulumi/actions.
// Needs gcloud, authenticated as an identity with roles/iap.tunnelResourceAccessor and compute.instances.list.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { bareStack } from "../components/core/environments";
import { globalNames, SERVER_NAME } from "../components/core/names";

export interface Tunnel { project: string; zone: string; tag: string; port: number }

/** Where the tunnel goes, from the stack's config map (Pulumi.<stack>.yaml) and the stack's name. */
export function tunnelFor(stack: string, config: Record<string, unknown>): Tunnel {
  const text = (key: string) => {
    const v = config[key];
    if (typeof v !== "string" || v === "") throw new Error(`${key} is not set in Pulumi.${bareStack(stack)}.yaml`);
    return v;
  };
  if (String(config["mailserver:sshViaIap"] ?? "false") !== "true") {
    throw new Error(`stack ${stack} does not set mailserver:sshViaIap true: its deploys connect to the VM's address, not to a tunnel`);
  }
  return {
    project: text("gcp:project"),
    zone: text("gcp:zone"),
    tag: globalNames(SERVER_NAME, bareStack(stack)).tag,
    port: Number(config["mailserver:iapTunnelPort"] ?? 2222),
  };
}

/** gcloud arguments: the VM carrying the tag, and the tunnel to it. */
export function listArgs(t: Tunnel): string[] {
  return ["compute", "instances", "list", `--project=${t.project}`, `--zones=${t.zone}`, `--filter=tags.items=${t.tag}`, "--format=value(name)"];
}
export function tunnelArgs(t: Tunnel, instance: string): string[] {
  return ["compute", "start-iap-tunnel", instance, "22", `--local-host-port=127.0.0.1:${t.port}`, `--zone=${t.zone}`, `--project=${t.project}`];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function keepOpen(t: Tunnel): Promise<never> {
  for (;;) {
    const list = spawnSync("gcloud", listArgs(t), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (list.error) throw new Error(`cannot run gcloud: ${list.error.message}`);
    const instance = list.stdout.trim().split("\n")[0];
    if (instance) {
      console.log(`iap-tunnel: 127.0.0.1:${t.port} → ${instance}:22`);
      // Runs until the VM goes away or the tunnel breaks; then look again.
      await new Promise((resolve) => spawn("gcloud", tunnelArgs(t, instance), { stdio: "inherit" }).on("exit", resolve));
    }
    await sleep(5000);
  }
}

if (require.main === module) {
  const stack = process.argv[2];
  try {
    if (!stack) throw new Error("usage: npm run iap-tunnel -- <stack>");
    const file = `Pulumi.${bareStack(stack)}.yaml`;
    if (!existsSync(file)) throw new Error(`no ${file} here: run from the project directory`);
    const doc = parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
    void keepOpen(tunnelFor(stack, doc?.config ?? {})).catch((e: Error) => {
      console.error(`iap-tunnel: ${e.message}`);
      process.exit(1);
    });
  } catch (e) {
    console.error(`iap-tunnel: ${(e as Error).message}`);
    process.exitCode = 2;
  }
}
