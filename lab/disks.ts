// The persistent disk stand-in: a sparse image file under .lab/disks on a loop device. Kept across
// deploys (same disk, same mail); removed only by `lab down`.
import * as fs from "node:fs";
import * as path from "node:path";
import { p } from "./paths";
import { run } from "./proc";

/** Sparse anyway, but a cap keeps a mistyped size from filling the host. */
const MAX_GB = 4;

export interface DiskState { name: string; image: string; loop: string }

const storeFile = () => path.join(p.state, "disks.json");
export function loadDisks(): Record<string, DiskState> {
  try { return JSON.parse(fs.readFileSync(storeFile(), "utf8")) as Record<string, DiskState>; } catch { return {}; }
}

async function loopOf(image: string): Promise<string | undefined> {
  const out = (await run("losetup", ["-j", image])).stdout.trim();
  return out ? out.split(":")[0] : undefined;
}

export async function ensureDisk(name: string, sizeGb: number): Promise<DiskState> {
  fs.mkdirSync(p.disks, { recursive: true });
  const image = path.join(p.disks, `${name}.img`);
  if (!fs.existsSync(image)) {
    fs.writeFileSync(image, "");
    fs.truncateSync(image, Math.min(sizeGb, MAX_GB) * 1024 ** 3);
  }
  const loop = (await loopOf(image)) ?? (await run("losetup", ["--find", "--show", image])).stdout.trim();
  const disks = { ...loadDisks(), [name]: { name, image, loop } };
  fs.mkdirSync(p.state, { recursive: true });
  fs.writeFileSync(storeFile(), JSON.stringify(disks, null, 2));
  return disks[name];
}

export async function disksDown(): Promise<void> {
  if (!fs.existsSync(p.disks)) return;
  for (const f of fs.readdirSync(p.disks)) {
    const loop = await loopOf(path.join(p.disks, f));
    if (loop) await run("losetup", ["-d", loop]);
  }
}
