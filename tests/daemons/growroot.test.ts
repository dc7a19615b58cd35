// mailserver-growroot on a real partitioned disk: a loop device over an image laid out as GCE's Debian 12 image
// (GPT; BIOS boot 14 and EFI 15 first, root 1 last, ext4), grown as GCE grows a boot disk (the image file gets
// longer, the kernel sees the new capacity). The script grows partition 1 (growpart) and the ext4 in it (resize2fs),
// keeps what the filesystem holds, and a second run changes nothing. Online resize2fs needs CAP_SYS_RESOURCE, which
// some test machines lack: where it does, the mounted case shows the kernel's refusal reported as such.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shellQuote } from "../../components/core/provision";
import { TEMPLATE_DIR } from "../../components/core/render";

const SCRIPT = join(TEMPLATE_DIR, "provision", "mailserver-growroot.sh");
const ENV = { ...process.env, PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` };
const MiB = 1024 * 1024;
// GPT keeps a backup header (1 sector) and partition entries (32) at the disk's end; growpart stops before them.
const GPT_BACKUP_SECTORS = 33;
// The layout of debian-12 GCE images (sfdisk -l), scaled down: partitions named by number, root last on the disk.
const LAYOUT = (img: string) => [
  "label: gpt",
  `${img}14 : start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649`,
  `${img}15 : start=4096, size=4096, type=U`,
  `${img}1 : start=8192, type=L`,
].join("\n") + "\n";

interface Run { code: number; out: string }
function sh(cmd: string): Run {
  const r = spawnSync("bash", ["-c", cmd], { encoding: "utf8", env: ENV });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
function must(cmd: string): string {
  const r = sh(cmd);
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code}: ${r.out}`);
  return r.out;
}
/** Runs a command in a mount namespace of its own: whatever it mounts is gone when it exits, even on failure. */
const inMountNs = (cmd: string) => sh(`unshare -m --propagation private bash -c ${shellQuote(cmd)}`);
const growroot = (target: string, script = SCRIPT) => sh(`bash ${shellQuote(script)} ${shellQuote(target)}`);

let work: string;
let img: string;
let loop: string;
let wholeImg: string;
let wholeLoop: string;
const part = (n: number) => `${loop}p${n}`;
const sysfs = (dev: string, key: string) => Number(readFileSync(`/sys/class/block/${dev.replace("/dev/", "")}/${key}`, "utf8"));
/** The image's sha256, with the given byte ranges ([offset, length]) zeroed first. */
function imageHash(file: string, ignore: [number, number][] = []): string {
  const bytes = readFileSync(file);
  for (const [offset, length] of ignore) bytes.fill(0, offset, offset + length);
  return createHash("sha256").update(bytes).digest("hex");
}
/**
 * What resize2fs writes even when it has nothing to do, opening an unmounted filesystem read-write: the primary
 * superblock's last write time (s_wtime, byte 0x30) and so its checksum (0x3FC). On the VM the root is mounted
 * and resize2fs opens it read-only (e2fsprogs resize/main.c: EXT2_FLAG_RW only when not mounted).
 */
const superblockWriteTime = (): [number, number][] => {
  const superblock = sysfs(part(1), "start") * 512 + 1024;
  return [[superblock + 0x30, 4], [superblock + 0x3fc, 4]];
};

/**
 * The kernel's partitions of a loop device, as a disk's are: some kernels' loop partition scan adds none (and drops
 * them on a new capacity), so partx -a adds what is missing; it complains about what is there (no error here).
 */
function readPartitions(dev: string): void {
  sh(`partx -a ${dev}`);
  must(`for n in 1 14 15; do [ -b ${dev}p$n ] || { echo "no device node ${dev}p$n: is /dev a devtmpfs (findmnt /dev)?"; exit 1; }; done`);
}
/** Attaches an image as GCE attaches a disk. */
function attach(file: string, partitions: boolean): string {
  const dev = must(`losetup --show -f ${partitions ? "-P" : ""} ${shellQuote(file)}`).trim();
  if (partitions) readPartitions(dev);
  return dev;
}
/** GCE's disks.resize: the disk is longer, the running kernel sees the new size. */
function growDisk(file: string, dev: string, byMiB: number): void {
  must(`truncate -s +${byMiB}M ${shellQuote(file)} && losetup -c ${dev}`);
  if (dev === loop) readPartitions(dev);
}
function fsBytes(dev: string): number {
  const h = must(`dumpe2fs -h ${dev} 2>/dev/null`);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)$`, "m").exec(h)![1]);
  return field("Block count") * field("Block size");
}
/** Partition 1 ends where the disk's backup GPT begins, and its ext4 fills it (resize2fs keeps whole blocks). */
function rootFillsDisk(): boolean {
  const disk = sysfs(loop, "size");
  const end = sysfs(part(1), "start") + sysfs(part(1), "size");
  const partBytes = sysfs(part(1), "size") * 512;
  return end === disk - GPT_BACKUP_SECTORS && fsBytes(part(1)) > partBytes - 64 * 1024 && fsBytes(part(1)) <= partBytes;
}
const readMail = () => must(`debugfs -R 'cat /mail/message' ${part(1)} 2>/dev/null`);
const fsckClean = () => sh(`e2fsck -fn ${part(1)}`).code === 0;
const MESSAGE = "Subject: kept\n\nthis message was on the disk before it grew\n";

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "growroot-"));
  img = join(work, "disk.img");
  must(`truncate -s 64M ${img}`);
  must(`sfdisk -q ${img} <<'EOF'\n${LAYOUT(img)}EOF`);
  loop = attach(img, true);
  must(`mkfs.ext4 -q -b 4096 ${part(1)}`);
  writeFileSync(join(work, "message"), MESSAGE);
  const w = inMountNs(`mkdir ${work}/mnt && mount ${part(1)} ${work}/mnt &&
    mkdir ${work}/mnt/mail ${work}/mnt/root-dir && cp ${work}/message ${work}/mnt/mail/message && umount ${work}/mnt`);
  if (w.code !== 0) throw new Error(`writing the test message: ${w.out}`);
  wholeImg = join(work, "whole.img");
  must(`truncate -s 32M ${wholeImg} && mkfs.ext4 -q -b 4096 -F ${wholeImg}`);
  wholeLoop = attach(wholeImg, false);
});

afterAll(() => {
  // Only the loop devices this test attached.
  for (const dev of [loop, wholeLoop]) if (dev) sh(`losetup -d ${dev}`);
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the disk grown by 64 MiB: partition 1 now ends at the disk's end, its ext4 fills it (offline), the mail in it kept", () => {
  growDisk(img, loop, 64);
  expect(rootFillsDisk()).toBe(false);
  const before = fsBytes(part(1));
  const r = growroot(part(1));
  expect(r.out).toMatch(/mailserver-growroot: partition 1 of \/dev\/loop\d+: CHANGED: partition=1/);
  expect(r.out).toMatch(/mailserver-growroot: filesystem on \/dev\/loop\d+p1: .*is now \d+ \(4k\) blocks long/);
  expect(r.code).toBe(0);
  expect(rootFillsDisk()).toBe(true);
  expect(fsBytes(part(1))).toBeGreaterThan(before + 60 * MiB);
  expect(readMail()).toBe(MESSAGE);
  expect(fsckClean()).toBe(true);
  // The partitions before it are where they were (the table on the disk).
  const table = JSON.parse(must(`sfdisk -J ${img}`)) as { partitiontable: { partitions: { node: string; start: number; size: number }[] } };
  expect(table.partitiontable.partitions.map((p) => [p.node.slice(img.length), p.start, p.size]))
    .toEqual([["1", 8192, sysfs(part(1), "size")], ["14", 2048, 2048], ["15", 4096, 4096]]);
});

test("a second run changes nothing (but the superblock's write time, offline), says so and exits 0", () => {
  const hash = imageHash(img, superblockWriteTime());
  const r = growroot(part(1));
  expect(r.out).toContain("NOCHANGE: partition 1");
  expect(r.out).toContain("Nothing to do!");
  expect(r.code).toBe(0);
  expect(imageHash(img, superblockWriteTime())).toBe(hash);
});

test("control: without the growpart step the root stays the size it was, and the check above sees it", () => {
  const text = readFileSync(SCRIPT, "utf8");
  const noGrowpart = text.replace(/out=\$\(growpart [^\n]*/, 'out="growpart removed"');
  expect(noGrowpart).not.toBe(text);
  const broken = join(work, "growroot-without-growpart.sh");
  writeFileSync(broken, noGrowpart);
  growDisk(img, loop, 64);
  const size = sysfs(part(1), "size");
  const r = growroot(part(1), broken);
  expect(r.code).toBe(0);
  expect(sysfs(part(1), "size")).toBe(size);
  expect(rootFillsDisk()).toBe(false);
  // The real script then catches up with the disk.
  expect(growroot(part(1)).code).toBe(0);
  expect(rootFillsDisk()).toBe(true);
});

test("mounted, as / is on the VM: the mount point leads to partition 1, growpart grows it online; resize2fs grows it online where the kernel allows", () => {
  growDisk(img, loop, 64);
  const size = sysfs(part(1), "size");
  const r = inMountNs(`mount ${part(1)} ${work}/mnt && bash ${SCRIPT} ${work}/mnt; rc=$?; umount ${work}/mnt; exit $rc`);
  expect(r.out).toMatch(/partition 1 of \/dev\/loop\d+: CHANGED/);
  expect(sysfs(part(1), "size")).toBeGreaterThan(size);
  // CAP_SYS_RESOURCE is bit 24 of the capability masks: ext4's online resize requires it (fs/ext4/resize.c, ext4_resize_begin).
  const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]}`);
  if ((capEff >> 24n) & 1n) {
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/on-line resizing required[\s\S]*is now \d+ \(4k\) blocks long/);
  } else {
    // Here the refusal is reported as itself and fails the command, not hidden behind a success.
    expect(r.out).toMatch(/resize2fs \/dev\/loop\d+p1 failed \(exit 1\): .*Permission denied to resize filesystem/s);
    expect(r.code).toBe(1);
    // Offline instead, as an admin would: resize2fs wants a checked filesystem once it has been mounted.
    must(`e2fsck -fp ${part(1)}`);
    expect(growroot(part(1)).code).toBe(0);
  }
  expect(rootFillsDisk()).toBe(true);
  expect(readMail()).toBe(MESSAGE);
  expect(fsckClean()).toBe(true);
});

describe("a root the script must leave alone", () => {
  // The lab's machine (systemd-nspawn --directory) has / bind-mounted from a directory of the host's filesystem.
  const sharedDirRoot = (script: string) => inMountNs(`mount ${part(1)} ${work}/mnt && mkdir -p ${work}/container-root &&
    mount --bind ${work}/mnt/root-dir ${work}/container-root && bash ${script} ${work}/container-root`);

  test("a directory of a shared filesystem (a container's root, as in the lab): nothing grown, exit 0, and it says why", () => {
    growDisk(img, loop, 64);
    const size = sysfs(part(1), "size");
    const r = sharedDirRoot(SCRIPT);
    expect(r.out).toContain("is the directory /root-dir of a filesystem it shares (a container's root, as in the lab), not a disk partition of its own: nothing to grow");
    expect(r.code).toBe(0);
    expect(sysfs(part(1), "size")).toBe(size);
  });

  test("control: without that guard it would grow the disk under the shared directory", () => {
    const text = readFileSync(SCRIPT, "utf8");
    const noGuard = text.replace('if [ "$fsroot" != / ]; then', "if false; then");
    expect(noGuard).not.toBe(text);
    const broken = join(work, "growroot-without-guard.sh");
    writeFileSync(broken, noGuard);
    const size = sysfs(part(1), "size");
    sharedDirRoot(broken);
    expect(sysfs(part(1), "size")).toBeGreaterThan(size);
    must(`e2fsck -fp ${part(1)}`);
    expect(growroot(part(1)).code).toBe(0);
    expect(rootFillsDisk()).toBe(true);
  });

  test("a partition without ext4 (the EFI partition here): refused before anything is touched, exit 1", () => {
    const hash = imageHash(img);
    const r = growroot(part(15));
    expect(r.out).toMatch(/\/dev\/loop\d+p15 holds no filesystem blkid knows, not ext4: nothing grown; grow it by hand/);
    expect(r.code).toBe(1);
    expect(imageHash(img)).toBe(hash);
  });
});

test("ext4 on a whole disk (no partition table): no partition to grow, the filesystem follows the disk", () => {
  growDisk(wholeImg, wholeLoop, 32);
  const r = growroot(wholeLoop);
  expect(r.out).toContain(`${wholeLoop} is a whole disk, not a partition: no partition to grow`);
  expect(r.code).toBe(0);
  expect(fsBytes(wholeLoop)).toBe(64 * MiB);
});
