// The lab "VM": a Debian root filesystem (lab/image.ts, cached outside the repo) booted with
// systemd-nspawn in the lab network namespace. A small supervisor restarts it when it reboots
// (nspawn exits with 133), as systemd-nspawn@.service would.
import * as fs from "node:fs";
import * as path from "node:path";
import { aptProxyUrl } from "./apt-proxy";
import { caPem } from "./ca";
import { type DebianRelease } from "../components/core/release";
import { aptSources, ensureImage as ensureRootfs, imagePath, type ImageSpec } from "./image";
import { MACHINE_NAME, NET, p } from "./paths";
import { daemonPid, run, sleep, startDaemon, stopDaemon, waitFor } from "./proc";
import { canConnect } from "./relay";

/** What GCE's Debian image gives us that sshd, systemd and the provisioning need. */
const PACKAGES = ["systemd", "systemd-sysv", "dbus", "libpam-systemd", "openssh-server", "sudo", "iproute2",
  "ca-certificates", "e2fsprogs", "util-linux"];
const image = (release: DebianRelease): ImageSpec => ({ release, include: PACKAGES, proxy: aptProxyUrl, format: "tar" });

/** Makes the machine's cached root filesystem of a release if missing, through the apt proxy so that its packages get cached. */
export async function ensureImage(release: DebianRelease): Promise<void> {
  await ensureRootfs(image(release));
}

// systemd-fstab-generator skips block devices in a container (no udev there), so the data disk's fstab line
// would never become srv-mail.mount. This generator writes the mount unit the real one writes on GCE, so
// units that need the disk (RequiresMountsFor=/srv/mail) are ordered after it here as there.
const FSTAB_GENERATOR = `#!/bin/sh
out=$1
while read -r spec where type opts _rest; do
  case "$type" in ext4|xfs) ;; *) continue ;; esac
  case "$spec" in
    UUID=*) dev=$(blkid -o device -t "$spec" /dev/disk/by-id/* 2>/dev/null | head -n 1) ;;
    /dev/*) dev=$spec ;;
    *) continue ;;
  esac
  [ -n "$dev" ] || continue
  unit=$(systemd-escape -p --suffix=mount "$where")
  printf '[Unit]\\nSourcePath=/etc/fstab\\nBefore=local-fs.target\\n\\n[Mount]\\nWhat=%s\\nWhere=%s\\nType=%s\\nOptions=%s\\n' \\
    "$dev" "$where" "$type" "$opts" > "$out/$unit"
  mkdir -p "$out/local-fs.target.wants"
  ln -sf "../$unit" "$out/local-fs.target.wants/$unit"
done < /etc/fstab
`;

function write(rel: string, content: string, mode = 0o644): void {
  const file = path.join(p.machineRoot, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
}

/**
 * A fresh copy of the release's image, set up as a GCE image would be: mirror settings, DNS, trusted roots. A new
 * instance gets a new boot disk: a root left by a create that failed half-way (no apt proxy yet, so the machine's
 * apt hung on the mirror it cannot reach) is not reused.
 */
export async function prepareRoot(hostname: string, release: DebianRelease): Promise<void> {
  fs.rmSync(p.machineRoot, { recursive: true, force: true });
  await ensureImage(release);
  fs.mkdirSync(p.machineRoot, { recursive: true });
  await run("tar", ["-C", p.machineRoot, "-xpf", imagePath(image(release))]);
  write("etc/apt/sources.list", aptSources(release));
  write("etc/apt/apt.conf.d/01proxy", `Acquire::http::Proxy "${aptProxyUrl}";\n`);
  // Not as on GCE, for speed only: dpkg skips its fsync per unpacked file (as Debian's container images do). The
  // machine shares the host's kernel and page cache, so nothing it writes is lost unless the host itself crashes;
  // provisioning's package installs on every new VM (four in the e2e suite) are most of a replacement's time.
  write("etc/dpkg/dpkg.cfg.d/lab-unsafe-io", "force-unsafe-io\n");
  write("etc/hostname", `${hostname}\n`);
  write("etc/hosts", `127.0.0.1 localhost\n${NET.machine} ${hostname}\n`);
  // Only the lab DNS: it serves our zones and the stand-ins' names; nothing else needs resolving.
  fs.rmSync(path.join(p.machineRoot, "etc", "resolv.conf"), { force: true });
  write("etc/resolv.conf", `nameserver ${NET.host}\n`);
  write("usr/local/share/ca-certificates/mailserver-lab-ca.crt", fs.readFileSync(caPem(), "utf8"));
  await run("chroot", [p.machineRoot, "update-ca-certificates"]);
  write("etc/systemd/system-generators/lab-fstab-devices", FSTAB_GENERATOR, 0o755);
  // A new instance gets host keys of its own (the guest agent regenerates them for a new instance id), not
  // the image's: a replaced VM presents another key, which the deploy must read back and pin.
  for (const f of fs.readdirSync(path.join(p.machineRoot, "etc", "ssh")).filter((n) => n.startsWith("ssh_host_"))) {
    fs.rmSync(path.join(p.machineRoot, "etc", "ssh", f));
  }
  await run("ssh-keygen", ["-A", "-f", p.machineRoot]);
  fs.rmSync(path.join(p.machineRoot, "etc", "machine-id"), { force: true });
  write("etc/machine-id", "");
}

/** What the GCE guest agent does with metadata ssh-keys: a user with the key and passwordless sudo. */
export async function ensureUser(user: string, publicKey: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(user)) throw new Error(`bad user name in ssh-keys metadata: ${user}`);
  const passwd = fs.readFileSync(path.join(p.machineRoot, "etc", "passwd"), "utf8");
  if (!passwd.split("\n").some((l) => l.startsWith(`${user}:`))) {
    await run("useradd", ["--root", p.machineRoot, "--create-home", "--shell", "/bin/bash", "--groups", "sudo", user]);
  }
  write(`etc/sudoers.d/google_${user}`, `${user} ALL=(ALL:ALL) NOPASSWD:ALL\n`, 0o440);
  write(`home/${user}/.ssh/authorized_keys`, `${publicKey.trim()}\n`, 0o600);
  await run("chroot", [p.machineRoot, "chown", "-R", `${user}:${user}`, `/home/${user}/.ssh`]);
  fs.chmodSync(path.join(p.machineRoot, "home", user, ".ssh"), 0o700);
}

const supervisor = () => path.join(p.state, "machine-supervisor.sh");

/** Boots the machine (if not running) with the data disk's loop device as /dev/disk/by-id/google-<name>. */
export async function bootMachine(disks: { deviceName: string; loop: string }[]): Promise<void> {
  if (daemonPid("machine") === undefined) {
    const binds = disks.flatMap((d) => [`--bind=${d.loop}:/dev/disk/by-id/google-${d.deviceName}`, `--bind=${d.loop}`]);
    const nspawn = ["systemd-nspawn", "--boot", "--keep-unit", "--register=no", `--machine=${MACHINE_NAME}`,
      `--directory=${p.machineRoot}`, `--network-namespace-path=/run/netns/${NET.netns}`, "--resolv-conf=off",
      "--timezone=off", "--link-journal=no", "--console=read-only",
      // As root on GCE: fail2ban bans with nftables. The machine has a network namespace of its own.
      "--capability=CAP_NET_ADMIN", ...binds].map((a) => `'${a}'`).join(" ");
    // Restart on reboot (exit 133); on SIGTERM, stop the container cleanly (nspawn forwards it as poweroff).
    fs.mkdirSync(p.state, { recursive: true });
    fs.writeFileSync(supervisor(), [
      "#!/bin/bash",
      "trap 'kill -TERM $child 2>/dev/null; wait $child; exit 0' TERM INT",
      "while :; do",
      `  ${nspawn} </dev/null &`,
      "  child=$!; wait $child; rc=$?",
      '  [ "$rc" = 133 ] || exit "$rc"',
      '  echo "machine rebooting"',
      "done", ""].join("\n"), { mode: 0o700 });
    startDaemon("machine", "/bin/bash", [supervisor()]);
  }
  await waitFor("sshd in the machine", () => sshBanner(), 90000);
}

function sshBanner(): Promise<boolean> {
  return canConnect(NET.machine, 22);
}

/** The machine's ED25519 host key as the guest agent publishes it (guest attribute value: the base64). */
export function machineHostKey(): string | undefined {
  try {
    return fs.readFileSync(path.join(p.machineRoot, "etc", "ssh", "ssh_host_ed25519_key.pub"), "utf8").split(" ")[1];
  } catch {
    return undefined;
  }
}

export function machineRunning(): boolean {
  return daemonPid("machine") !== undefined;
}

/** Powers the machine off, keeping its root filesystem (GCE's stop, as for a machine type change). */
export async function machineStop(): Promise<void> {
  const namespace = machinePidNamespace();
  // GCE gives a stopping guest about 90 s, then stops it hard.
  await stopDaemon("machine", { timeoutMs: 90000, group: false });
  // A shutdown past that (Debian 13's user manager can hang in its stop: systemd/systemd#30863) leaves the
  // machine's processes running after nspawn is killed, writing into the root that a delete removes next.
  if (namespace) await killNamespace(namespace);
  // nspawn leaves its propagation directory behind when /run is not a tmpfs.
  fs.rmSync(`/run/systemd/nspawn/propagate/${MACHINE_NAME}`, { recursive: true, force: true });
  await waitFor("sshd in the machine to go away", async () => !(await sshBanner()), 30000);
}

const pidNamespace = (pid: string | number): string | undefined => {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
};

/** The pid namespace of the machine's processes: the first descendant of its supervisor (bash, nspawn) in another one. */
export function machinePidNamespace(): string | undefined {
  const ours = pidNamespace("self");
  const queue = [daemonPid("machine")].filter((x): x is number => x !== undefined);
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    const ns = pidNamespace(pid);
    if (ns !== undefined && ns !== ours) return ns;
    try {
      queue.push(...fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
    } catch { /* gone */ }
  }
  return undefined;
}

/** SIGKILL to every process in that pid namespace, until none is left. */
async function killNamespace(namespace: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const left = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d) && pidNamespace(d) === namespace);
    if (left.length === 0) return;
    for (const pid of left) try { process.kill(Number(pid), "SIGKILL"); } catch { /* gone */ }
    await sleep(250);
  }
  throw new Error(`the lab machine's processes (${namespace}) outlived SIGKILL`);
}

/** Stops the machine and deletes its boot disk (the instance's delete). */
export async function machineDown(): Promise<void> {
  await machineStop();
  fs.rmSync(path.dirname(p.machineRoot), { recursive: true, force: true });
}
