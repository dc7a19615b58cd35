// The Let's Encrypt stand-in: pebble on the host lab address. It validates HTTP-01 on the machine's port 80,
// resolving names through the lab DNS; its issuing root is saved for the tests to verify the server cert.
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { caPem, issueCert } from "./ca";
import { ACME_MGMT_PORT, ACME_NAME, ACME_PORT, NET, p } from "./paths";
import { daemonPid, startDaemon, stopDaemon, waitFor } from "./proc";
import { canConnect } from "./relay";

export const acmeDirectoryUrl = `https://${ACME_NAME}:${ACME_PORT}/dir`;
export const acmeRootPem = () => path.join(p.acme, "pebble-root.pem");

export async function acmeUp(): Promise<void> {
  fs.mkdirSync(p.acme, { recursive: true });
  const { cert, key } = await issueCert("acme", [ACME_NAME, NET.host]);
  const config = path.join(p.acme, "pebble-config.json");
  fs.writeFileSync(config, JSON.stringify({
    pebble: {
      listenAddress: `${NET.host}:${ACME_PORT}`,
      managementListenAddress: `${NET.host}:${ACME_MGMT_PORT}`,
      certificate: cert,
      privateKey: key,
      httpPort: 80,
      tlsPort: 443,
      ocspResponderURL: "",
      externalAccountBindingRequired: false,
    },
  }, null, 2));
  if (daemonPid("pebble") === undefined) {
    // Pebble's defaults sleep before validating and reject 5% of nonces: realistic, but slow and flaky here.
    startDaemon("pebble", "pebble", ["-config", config, "-dnsserver", `${NET.host}:53`],
      { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" });
    await waitFor("pebble", () => canConnect(NET.host, ACME_MGMT_PORT), 20000);
  }
  // Pebble makes a new root on every start: fetch the one it issues from now on.
  fs.writeFileSync(acmeRootPem(), await fetchRoot());
}

function fetchRoot(): Promise<string> {
  return new Promise((resolve, reject) => {
    https.get({ host: NET.host, port: ACME_MGMT_PORT, path: "/roots/0", ca: fs.readFileSync(caPem()), servername: ACME_NAME },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (b: Buffer) => chunks.push(b));
        res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString())
          : reject(new Error(`pebble /roots/0 answered ${res.statusCode}`))));
      }).on("error", reject);
  });
}

export async function acmeDown(): Promise<void> {
  await stopDaemon("pebble");
}
