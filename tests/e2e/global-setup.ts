// Brings the lab up once for the whole suite, or reuses a running one (lab.json present, machine answering).
import { spawnSync } from "node:child_process";
import type { Config } from "@jest/types";
import { existsSync } from "node:fs";
import { labNetworkUp } from "../../lab/network";
import { LAB_JSON, ROOT, loadLab } from "./lib/lab";
import { onMachine } from "./lib/machine";

async function labIsUp(): Promise<boolean> {
  // Without the lab's network its addresses route out through the host's gateway: nothing to ask there.
  if (!existsSync(LAB_JSON) || !labNetworkUp()) return false;
  // The lab runs nspawn with --register=no (no machinectl): "up" means its machine answers over SSH.
  return (await onMachine(loadLab(), "true", 30_000)).code === 0;
}

export default async function globalSetup(globalConfig: Config.GlobalConfig): Promise<void> {
  if (await labIsUp()) {
    process.stderr.write(`\ne2e: reusing the running lab (${LAB_JSON})\n`);
    return;
  }
  // On Debian 12, unless LAB_IMAGE says otherwise: the suite's first deploy moves it to 13 as a deployment would
  // (001-debian-12-to-13.test.ts), and the rest of the suite runs there. Lane 2 (tests/e2e/sequencer.js) has no
  // move: its lab comes up on the release of the lab's stack file (13).
  const lane2 = globalConfig.shard?.shardIndex === 2;
  const image = process.env.LAB_IMAGE ?? (lane2 ? undefined : "debian-cloud/debian-12");
  process.stderr.write(`\ne2e: starting the lab with ${image ? `LAB_IMAGE=${image} ` : ""}npm run lab\n`);
  // Inherit stdio: the lab reports its progress step by step, and it takes minutes.
  const r = spawnSync("npm", ["run", "lab"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], timeout: 60 * 60_000,
    env: { ...process.env, ...(image ? { LAB_IMAGE: image } : {}) } });
  if (r.status !== 0) throw new Error(`npm run lab failed (exit ${r.status ?? r.signal})`);
  if (!(await labIsUp())) throw new Error("npm run lab finished but the lab machine does not answer over SSH");
}
