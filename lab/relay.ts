// Starts and stops the Mailgun stand-in (lab/relay-server.ts) as a background process.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { issueCert } from "./ca";
import { NET, RELAY_NAME, RELAY_PORT, REPO, p } from "./paths";
import { daemonPid, startDaemon, stopDaemon, waitFor } from "./proc";
import type { RelayConfig } from "./relay-server";

export async function relayUp(username: string, password: string): Promise<RelayConfig> {
  const { cert, key } = await issueCert("relay", [RELAY_NAME, NET.host]);
  const cfg: RelayConfig = { host: NET.host, port: RELAY_PORT, username, password, cert, key, spool: p.relaySpool,
    pauseFile: p.relayPause };
  fs.mkdirSync(p.relay, { recursive: true, mode: 0o700 });
  const file = path.join(p.relay, "config.json");
  const text = JSON.stringify(cfg, null, 2);
  const changed = !fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text;
  fs.writeFileSync(file, text, { mode: 0o600 });
  if (changed) await stopDaemon("relay");
  if (daemonPid("relay") === undefined) {
    startDaemon("relay", process.execPath, ["--import", "tsx", path.join(REPO, "lab", "relay-server.ts"), file]);
    await waitFor("the relay stand-in", () => canConnect(NET.host, RELAY_PORT), 20000);
  }
  return cfg;
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1000 }, () => { s.destroy(); resolve(true); });
    s.on("error", () => resolve(false));
    s.on("timeout", () => { s.destroy(); resolve(false); });
  });
}

export async function relayDown(): Promise<void> {
  await stopDaemon("relay");
}
