// Brings the lab up once for the whole suite, or reuses a running one (lab.json present, machine answering).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { LAB_JSON, ROOT, loadLab } from "./lib/lab";
import { onMachine } from "./lib/machine";

async function labIsUp(): Promise<boolean> {
  if (!existsSync(LAB_JSON)) return false;
  // The lab runs nspawn with --register=no (no machinectl): "up" means its machine answers over SSH.
  return (await onMachine(loadLab(), "true", 30_000)).code === 0;
}

export default async function globalSetup(): Promise<void> {
  if (await labIsUp()) {
    process.stderr.write("\ne2e: reusing the running lab (.lab/lab.json)\n");
    return;
  }
  process.stderr.write("\ne2e: starting the lab with npm run lab\n");
  // Inherit stdio: the lab reports its progress step by step, and it takes minutes.
  const r = spawnSync("npm", ["run", "lab"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], timeout: 60 * 60_000 });
  if (r.status !== 0) throw new Error(`npm run lab failed (exit ${r.status ?? r.signal})`);
  if (!(await labIsUp())) throw new Error("npm run lab finished but the lab machine does not answer over SSH");
}
