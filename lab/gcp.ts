// Starts and stops the metadata-server and Secret Manager stand-ins (lab/gcp-server.ts) as a background process.
import * as fs from "node:fs";
import * as path from "node:path";
import { issueCert } from "./ca";
import type { GcpServerConfig } from "./gcp-server";
import { METADATA_PORT, NET, REPO, SECRET_MANAGER_NAME, SECRET_MANAGER_PORT, p } from "./paths";
import { daemonPid, startDaemon, stopDaemon, waitFor } from "./proc";
import { canConnect } from "./relay";

export async function gcpUp(): Promise<void> {
  const { cert, key } = await issueCert("secretmanager", [SECRET_MANAGER_NAME]);
  const cfg: GcpServerConfig = { host: NET.host, metadataPort: METADATA_PORT, secretManagerPort: SECRET_MANAGER_PORT, cert, key, store: p.cloud };
  fs.mkdirSync(p.state, { recursive: true });
  fs.writeFileSync(path.join(p.state, "gcp-server.json"), JSON.stringify(cfg, null, 2));
  if (daemonPid("gcp") === undefined) {
    startDaemon("gcp", process.execPath, ["--import", "tsx", path.join(REPO, "lab", "gcp-server.ts"), path.join(p.state, "gcp-server.json")]);
    await waitFor("the metadata and Secret Manager stand-ins", async () =>
      (await canConnect(NET.host, METADATA_PORT)) && canConnect(NET.host, SECRET_MANAGER_PORT), 20000);
  }
}

export async function gcpDown(): Promise<void> {
  await stopDaemon("gcp");
}
