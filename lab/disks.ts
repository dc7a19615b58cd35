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

/** A new disk is empty, or, made from a snapshot, a copy of the snapshot's image (as GCE restores one). */
export async function ensureDisk(name: string, sizeGb: number, snapshot?: string): Promise<DiskState> {
  fs.mkdirSync(p.disks, { recursive: true });
  const image = path.join(p.disks, `${name}.img`);
  if (!fs.existsSync(image)) {
    if (snapshot !== undefined) await run("cp", ["--sparse=always", snapshotImage(snapshot), image]);
    else fs.writeFileSync(image, "");
    // GCE refuses a disk smaller than its snapshot's source; a larger one is the snapshot plus empty space.
    if (fs.statSync(image).size < Math.min(sizeGb, MAX_GB) * 1024 ** 3) fs.truncateSync(image, Math.min(sizeGb, MAX_GB) * 1024 ** 3);
  }
  const loop = (await loopOf(image)) ?? (await run("losetup", ["--find", "--show", image])).stdout.trim();
  const disks = { ...loadDisks(), [name]: { name, image, loop } };
  fs.mkdirSync(p.state, { recursive: true });
  fs.writeFileSync(storeFile(), JSON.stringify(disks, null, 2));
  return disks[name];
}

/** Grows the image and tells the loop device (GCE's disk resize: the filesystem is the guest's business). */
export async function growDisk(name: string, sizeGb: number): Promise<void> {
  const disk = loadDisks()[name];
  if (!disk) throw new Error(`no lab disk ${name}`);
  const bytes = Math.min(sizeGb, MAX_GB) * 1024 ** 3;
  if (fs.statSync(disk.image).size < bytes) fs.truncateSync(disk.image, bytes);
  await run("losetup", ["--set-capacity", disk.loop]);
}

/**
 * GCE's answer to a smaller boot disk on an instance update: terraform-provider-google calls disks/resize for any
 * new size (upstream/diff-table.ts, bootDisk.initializeParams.size) and GCE refuses to shrink a disk. Undefined
 * when the size stays or grows.
 */
export function bootDiskShrinkRefusal(olds: Record<string, unknown>, news: Record<string, unknown>): string | undefined {
  const size = (v: Record<string, unknown>) => (v.bootDisk as { initializeParams?: { size?: unknown } } | undefined)?.initializeParams?.size;
  const [from, to] = [size(olds), size(news)];
  if (typeof from !== "number" || typeof to !== "number" || to >= from) return undefined;
  return `disks/resize of the boot disk from ${from} GB to ${to} GB: GCE refuses a smaller size (a disk only grows); ` +
    `set mailserver:bootDiskSizeGb back to ${from} or more`;
}

export async function deleteDisk(name: string): Promise<void> {
  const { [name]: disk, ...rest } = loadDisks();
  if (!disk) return;
  if (await loopOf(disk.image)) await run("losetup", ["-d", disk.loop]);
  fs.rmSync(disk.image, { force: true });
  fs.writeFileSync(storeFile(), JSON.stringify(rest, null, 2));
}

export async function disksDown(): Promise<void> {
  if (!fs.existsSync(p.disks)) return;
  for (const f of fs.readdirSync(p.disks)) {
    const loop = await loopOf(path.join(p.disks, f));
    if (loop) await run("losetup", ["-d", loop]);
  }
}

/** Snapshot names as GCE takes them (RFC 1035 labels); `projects/<p>/global/snapshots/<name>` is read as <name>. */
const SNAPSHOT_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

function snapshotImage(snapshot: string): string {
  const name = snapshot.slice(snapshot.lastIndexOf("/") + 1);
  const image = path.join(p.snapshots, `${name}.img`);
  if (!SNAPSHOT_NAME.test(name) || !fs.existsSync(image)) throw new Error(`snapshot ${snapshot} not found (the lab has: ${listSnapshots().join(", ") || "none"})`);
  return image;
}

export function listSnapshots(): string[] {
  if (!fs.existsSync(p.snapshots)) return [];
  return fs.readdirSync(p.snapshots).filter((f) => f.endsWith(".img")).map((f) => f.slice(0, -4)).sort();
}

/**
 * The snapshot schedule's stand-in: a copy of the disk's image while it is in use, as crash-consistent as a
 * GCE snapshot taken without guest flush (the caller syncs the guest's page cache first, as the guest agent would).
 */
export async function takeSnapshot(diskName: string, snapshot: string): Promise<string> {
  const disk = loadDisks()[diskName];
  if (!disk) throw new Error(`no lab disk ${diskName}`);
  if (!SNAPSHOT_NAME.test(snapshot)) throw new Error(`snapshot name ${snapshot}: use lower-case letters, digits and dashes`);
  fs.mkdirSync(p.snapshots, { recursive: true });
  const image = path.join(p.snapshots, `${snapshot}.img`);
  if (fs.existsSync(image)) throw new Error(`snapshot ${snapshot} exists already`);
  await run("cp", ["--sparse=always", disk.image, `${image}.part`]);
  fs.renameSync(`${image}.part`, image);
  return snapshot;
}
