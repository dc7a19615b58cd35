// Debian root filesystems made by debootstrap and cached outside the repo (debootstrap is the slow part): the
// lab machine's image and the daemons tier's chroot, for any release we support.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type DebianRelease, codenameOf } from "../components/core/release";
import { CACHE } from "./paths";
import { info, run, sleep } from "./proc";

const MIRROR = "http://deb.debian.org/debian";

/** The APT sources a GCE Debian image carries: the release, its updates and its security updates. */
export function aptSources(release: DebianRelease): string {
  const c = codenameOf(release);
  return [`deb ${MIRROR} ${c} main`, `deb ${MIRROR} ${c}-updates main`,
    `deb http://deb.debian.org/debian-security ${c}-security main`, ""].join("\n");
}

export interface ImageSpec {
  release: DebianRelease;
  /** Given to debootstrap (--include) on top of minbase. */
  include: string[];
  /** Installed afterwards as provisioning installs them (no recommends, no daemon started); none for the machine. */
  install?: string[];
  /** An apt proxy (apt-cacher-ng) that debootstrap and apt go through, so the packages get cached. */
  proxy?: string;
  /** "tar": one archive that each machine unpacks; "dir": the tree itself, for read-only use under an overlay. */
  format: "tar" | "dir";
}

/** The cache path: the spec's packages in its name, so a changed list makes a new image rather than reusing an old one. */
export function imagePath(spec: ImageSpec): string {
  // "+upgraded": images made before the image took the updates (below) are not reused.
  const key = [spec.include.join(","), ...(spec.install?.length ? [`install:${spec.install.join(",")}`] : []), "upgraded"].join("+");
  const name = `${codenameOf(spec.release)}-${createHash("sha256").update(key).digest("hex").slice(0, 12)}`;
  return path.join(CACHE, spec.format === "tar" ? `${name}.tar` : name);
}

/** Runs a command chrooted into dir with /proc mounted, in a mount namespace of its own (nothing stays mounted). */
function inRoot(dir: string, args: string[], env: NodeJS.ProcessEnv, input?: string) {
  return run("unshare", ["--mount", "--propagation", "private", "sh", "-c",
    'd=$1; shift; mount -t proc proc "$d/proc" && exec chroot "$d" "$@"', "sh", dir, ...args], { env, input });
}

// As provisioning does: no daemon starts during the install, and Postfix skips its configuration wizard.
const NO_START = "#!/bin/sh\nexit 101\n";
const POSTFIX_DEBCONF = "postfix postfix/main_mailer_type select No configuration\n";

/**
 * Makes the cached root filesystem if missing (debootstrap, through the apt proxy if given), upgraded as Google
 * builds its Debian images: with the point release's and the security updates published when it is made. Only
 * what Debian publishes after that waits for the VM's unattended-upgrades. Returns its path.
 */
export async function ensureImage(spec: ImageSpec): Promise<string> {
  const target = imagePath(spec);
  const name = `Debian ${spec.release} (${codenameOf(spec.release)})`;
  if (!fs.existsSync(target)) await whileLocked(target, () => fs.existsSync(target) ? Promise.resolve() : makeImage(spec, target));
  info(`using the cached ${name} image ${target}`);
  return target;
}

/** Whether a process of this pid runs (signal 0 checks without sending). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * Runs `make` holding `<target>.lock` (the holder's pid): two labs may want the same image at once (the e2e suite's
 * lanes), and the second waits for the first's instead of making it into the same directory. A lock whose holder
 * died is taken over.
 */
async function whileLocked(target: string, make: () => Promise<void>): Promise<void> {
  fs.mkdirSync(CACHE, { recursive: true });
  const lock = `${target}.lock`;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: "wx" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = Number(fs.readFileSync(lock, "utf8"));
      if (holder > 0 && !alive(holder)) fs.rmSync(lock, { force: true });
      else await sleep(2_000);
    }
  }
  try {
    await make();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

async function makeImage(spec: ImageSpec, target: string): Promise<void> {
  info(`debootstrap ${codenameOf(spec.release)} (minbase + ${spec.include.length} packages${spec.install?.length ? ` + ${spec.install.length} daemon packages` : ""}, upgraded) into ${CACHE}: a few minutes`);
  fs.mkdirSync(CACHE, { recursive: true });
  const dir = `${target}.d`;
  fs.rmSync(dir, { recursive: true, force: true });
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", ...(spec.proxy ? { http_proxy: spec.proxy } : {}) };
  const include = spec.include.length ? [`--include=${spec.include.join(",")}`] : [];
  await run("debootstrap", ["--variant=minbase", ...include, codenameOf(spec.release), dir, MIRROR], { env });
  fs.writeFileSync(path.join(dir, "etc", "apt", "sources.list"), aptSources(spec.release));
  await inRoot(dir, ["apt-get", "update", "-q"], env);
  await inRoot(dir, ["apt-get", "upgrade", "-y", "-q"], env);
  if (spec.install?.length) {
    const policy = path.join(dir, "usr", "sbin", "policy-rc.d");
    fs.writeFileSync(policy, NO_START, { mode: 0o755 });
    await inRoot(dir, ["debconf-set-selections"], env, POSTFIX_DEBCONF);
    await inRoot(dir, ["apt-get", "install", "-y", "-q", "--no-install-recommends", ...spec.install], env);
    fs.rmSync(policy);
  }
  await inRoot(dir, ["apt-get", "clean"], env);
  if (spec.format === "tar") {
    await run("tar", ["-C", dir, "-cf", `${target}.tmp`, "."]);
    fs.renameSync(`${target}.tmp`, target);
    fs.rmSync(dir, { recursive: true, force: true });
  } else {
    fs.renameSync(dir, target);
  }
}
