// The Google Cloud stand-ins the VM itself talks to, as one process: the metadata server's token endpoint and guest attributes
// (plain HTTP, reached from the machine as 169.254.169.254 / metadata.google.internal through a DNAT on the
// host end of its veth, lab/network.ts) and Secret Manager's `versions/*:access` (HTTPS, secretmanager.googleapis.com in the lab DNS).
// Both read the lab's cloud store (lab/cloud-store.ts) on every request, so a deploy's changes apply at once.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { loadCloud, updateCloud } from "./cloud-store";

export interface GcpServerConfig {
  host: string;
  metadataPort: number;
  secretManagerPort: number;
  cert: string;
  key: string;
  store: string;
}

const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
};

/** Google's error body (google.rpc.Status as JSON). */
const apiError = (res: http.ServerResponse, code: number, status: string, message: string) => json(res, code, { error: { code, status, message } });

function main(): void {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as GcpServerConfig;
  /** Token → the service account it was issued for (the instance's, at the time of issue). */
  const tokens = new Map<string, string>();

  // The metadata server answers only with Metadata-Flavor: Google, and never to a forwarded request
  // (https://cloud.google.com/compute/docs/metadata/querying-metadata).
  http.createServer((req, res) => {
    if (req.headers["metadata-flavor"] !== "Google" || req.headers["x-forwarded-for"] !== undefined) return json(res, 403, "Forbidden");
    // Guest attributes: the VM writes them with PUT (google-guest-agent publishes hostkeys/<type> so), and nothing
    // stops any process on it from doing the same (https://cloud.google.com/compute/docs/metadata/manage-guest-attributes).
    const attribute = /^\/computeMetadata\/v1\/instance\/guest-attributes\/([^/?]+\/[^/?]+)$/.exec(req.url ?? "");
    if (attribute && req.method === "PUT") {
      const body: Buffer[] = [];
      req.on("data", (b: Buffer) => body.push(b));
      req.on("end", () => {
        updateCloud(cfg.store, (c) => { c.guestAttributes = { ...c.guestAttributes, [attribute[1]]: Buffer.concat(body).toString("utf8") }; });
        res.writeHead(200);
        res.end();
      });
      return;
    }
    const m = /^\/computeMetadata\/v1\/instance\/service-accounts\/([^/]+)\/(token|email)$/.exec((req.url ?? "").split("?")[0]);
    const account = loadCloud(cfg.store).instanceServiceAccount;
    if (!m || !account || (m[1] !== "default" && m[1] !== account)) return json(res, 404, "Not Found");
    if (m[2] === "email") { res.writeHead(200, { "Content-Type": "text/plain" }); return res.end(account); }
    const token = `lab-token-${randomBytes(16).toString("hex")}`;
    tokens.set(token, account);
    json(res, 200, { access_token: token, expires_in: 3599, token_type: "Bearer" });
  }).listen(cfg.metadataPort, cfg.host);

  // AccessSecretVersion: GET /v1/{name=projects/*/secrets/*/versions/*}:access, allowed to a member with
  // roles/secretmanager.secretAccessor on the secret (https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access).
  https.createServer({ cert: fs.readFileSync(cfg.cert), key: fs.readFileSync(cfg.key) }, (req, res) => {
    const m = /^\/v1\/(projects\/[^/]+\/secrets\/[^/]+)\/versions\/([^/:]+):access$/.exec(req.url ?? "");
    if (req.method !== "GET" || !m) return apiError(res, 404, "NOT_FOUND", "Method not found.");
    const account = tokens.get(/^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "");
    if (!account) return apiError(res, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    const cloud = loadCloud(cfg.store);
    const [, secret, which] = m;
    const allowed = cloud.secretAccessors[secret]?.includes(`serviceAccount:${account}`);
    if (!allowed) return apiError(res, 403, "PERMISSION_DENIED", `Permission 'secretmanager.versions.access' denied for resource '${secret}/versions/${which}'`);
    const versions = cloud.secrets[secret] ?? [];
    const enabled = versions.map((v, i) => ({ ...v, n: i + 1 })).filter((v) => v.state === "ENABLED");
    const v = which === "latest" ? enabled[enabled.length - 1] : versions[Number(which) - 1] && { ...versions[Number(which) - 1], n: Number(which) };
    if (!v) return apiError(res, 404, "NOT_FOUND", `Secret Version [${secret}/versions/${which}] not found.`);
    if (v.state !== "ENABLED") return apiError(res, 400, "FAILED_PRECONDITION", `Secret Version [${secret}/versions/${v.n}] is in ${v.state} state.`);
    json(res, 200, { name: `${secret}/versions/${v.n}`, payload: { data: Buffer.from(v.data).toString("base64") } });
  }).listen(cfg.secretManagerPort, cfg.host);
  process.stderr.write(`metadata on ${cfg.host}:${cfg.metadataPort}, Secret Manager on ${cfg.host}:${cfg.secretManagerPort}\n`);
}

if (require.main === module) main();
