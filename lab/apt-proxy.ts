// apt-cacher-ng on the host lab address: the machine's only way to Debian's mirror, and a package cache
// (under /var/cache, outside the repo) that makes every later lab much faster.
import * as fs from "node:fs";
import * as path from "node:path";
import { APT_CACHE_DIR, APT_PROXY_PORT, NET, p } from "./paths";
import { daemonPid, info, startDaemon, stopDaemon, waitFor } from "./proc";
import { canConnect } from "./relay";

export const aptProxyUrl = `http://${NET.host}:${APT_PROXY_PORT}`;

export async function aptProxyUp(): Promise<void> {
  if (daemonPid("apt-cacher-ng") !== undefined) return;
  if (await canConnect(NET.host, APT_PROXY_PORT)) {
    info(`an apt-cacher-ng already answers on ${NET.host}:${APT_PROXY_PORT} (the system service?): using it`);
    return;
  }
  const logDir = path.join(p.logs, "apt-cacher-ng");
  fs.mkdirSync(APT_CACHE_DIR, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  startDaemon("apt-cacher-ng", "/usr/sbin/apt-cacher-ng", [
    "-c", "/etc/apt-cacher-ng", "ForeGround=1", `BindAddress=${NET.host}`, `Port=${APT_PROXY_PORT}`,
    // The package's backends_debian is often empty, and then acng picks a mirror from its list: name ours.
    "Remap-debrep=file:deb_mirror*.gz /debian ; http://deb.debian.org/debian/",
    `CacheDir=${APT_CACHE_DIR}`, `LogDir=${logDir}`, `SocketPath=${path.join(p.pids, "acng.socket")}`,
  ]);
  await waitFor("apt-cacher-ng", () => canConnect(NET.host, APT_PROXY_PORT), 20000);
}

export async function aptProxyDown(): Promise<void> {
  await stopDaemon("apt-cacher-ng");
}
