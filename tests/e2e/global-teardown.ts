// Takes the lab down after the suite, unless LAB_KEEP=1 (to inspect it, or to rerun the suite faster).
import { spawnSync } from "node:child_process";
import { ROOT } from "./lib/lab";

export default async function globalTeardown(): Promise<void> {
  if (process.env.LAB_KEEP === "1") {
    process.stderr.write("\ne2e: LAB_KEEP=1, leaving the lab running (npm run lab -- down removes it)\n");
    return;
  }
  const r = spawnSync("npm", ["run", "lab", "--", "down"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], timeout: 10 * 60_000 });
  if (r.status !== 0) throw new Error(`npm run lab -- down failed (exit ${r.status ?? r.signal})`);
}
