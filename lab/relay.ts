// Starts and stops the Mailgun stand-ins as background processes: the API (lab/mailgun-api-server.ts), which keeps the
// account's domains and SMTP credentials, and the relay (lab/relay-server.ts), which accepts only those credentials.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { issueCert } from "./ca";
import type { MailgunApiConfig } from "./mailgun-api-server";
import { seedCredential } from "./mailgun-api-server";
import { MAILGUN_API_PORT, NET, RELAY_NAME, RELAY_PORT, REPO, p } from "./paths";
import { daemonPid, startDaemon, stopDaemon, waitFor } from "./proc";
import type { RelayConfig } from "./relay-server";
import { inLabNetwork, labNetworkUp } from "./network";

/** The lab's Mailgun account key when the stack file has none (the hand-typed mode): the stand-in always checks one. */
const NO_KEY = "key-lab-account-without-stack-key";
const apiConfigFile = () => path.join(p.relay, "mailgun-api.json");

/**
 * The API stand-in, with the account's key: lab/stack.yaml's mailgunApiKey, fixed when the lab comes up. A deploy of
 * another stack file never changes it, so a file with a wrong key meets the account's real one.
 */
export async function mailgunApiUp(config?: Record<string, string>): Promise<MailgunApiConfig> {
  fs.mkdirSync(p.relay, { recursive: true, mode: 0o700 });
  const file = apiConfigFile();
  if (config === undefined && fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, "utf8")) as MailgunApiConfig;
    if (daemonPid("mailgun-api") === undefined) await startApi(file);
    return saved;
  }
  // The stack reaches it by address (lab/stack.yaml mailgunApiUrl): the certificate names that address.
  const { cert, key } = await issueCert("mailgun-api", [NET.host]);
  const cfg: MailgunApiConfig = {
    host: NET.host, port: MAILGUN_API_PORT, apiKey: config?.["mailserver:mailgunApiKey"] || NO_KEY, store: p.mailgunStore, dns: `${NET.host}:53`, cert, key,
  };
  const text = JSON.stringify(cfg, null, 2);
  const changed = !fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text;
  fs.writeFileSync(file, text, { mode: 0o600 });
  if (changed) await stopDaemon("mailgun-api");
  if (daemonPid("mailgun-api") === undefined) await startApi(file);
  return cfg;
}

async function startApi(file: string): Promise<void> {
  startDaemon("mailgun-api", process.execPath, ["--import", "tsx", path.join(REPO, "lab", "mailgun-api-server.ts"), file]);
  await waitFor("the Mailgun API stand-in", () => canConnect(NET.host, MAILGUN_API_PORT), 20000);
}

/**
 * The relay stand-in. A stack file in the hand-typed mode names a login made in Mailgun's console: the account gets it
 * (seedCredential), so the relay, which accepts only the account's credentials, accepts it.
 */
export async function relayUp(config: Record<string, string>): Promise<RelayConfig> {
  const { cert, key } = await issueCert("relay", [RELAY_NAME, NET.host]);
  const cfg: RelayConfig = { host: NET.host, port: RELAY_PORT, store: p.mailgunStore, authLog: p.relayAuthLog, cert, key,
    spool: p.relaySpool, pauseFile: p.relayPause };
  fs.mkdirSync(p.relay, { recursive: true, mode: 0o700 });
  const typed = [config["mailserver:relayUsername"], config["mailserver:relayPassword"]];
  if (typed[0] && typed[1]) seedCredential(p.mailgunStore, typed[0], typed[1]);
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

/**
 * Whether something answers on host:port. An address of the lab network without the lab's interface is no
 * answer, and is not tried: with the network gone it routes to the host's default gateway, and test traffic goes
 * only to the lab (a `lab down` after a half-finished one connected out to the machine's address that way).
 */
export function canConnect(host: string, port: number): Promise<boolean> {
  if (inLabNetwork(host) && !labNetworkUp()) return Promise.resolve(false);
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1000 }, () => { s.destroy(); resolve(true); });
    s.on("error", () => resolve(false));
    s.on("timeout", () => { s.destroy(); resolve(false); });
  });
}

export async function relayDown(): Promise<void> {
  await stopDaemon("relay");
  await stopDaemon("mailgun-api");
}
