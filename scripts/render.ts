// npm run render -- --stack <name> --out <dir>    renders from Pulumi.<name>.yaml in the repo root
// npm run render -- --config <file> --out <dir>   renders from any stack file of that format
//   [--ip <address>]                              server IP for the zone files (default 192.0.2.10)
//
// Writes every server file at <dir>/<target path> (e.g. <dir>/etc/postfix/main.cf), <dir>/manifest.json
// (path, mode, owner, group, service, secret, rebuild) and the planned DNS zones in <dir>/dns/ (with
// mailserver:dnssec, the TLSA records of _25._tcp.<hostname> too).
//
// `secure:` values need the Pulumi CLI to decrypt; they become visible placeholders unless these
// environment variables supply them:
//   MAILSERVER_RELAY_PASSWORD    mailserver:relayPassword
//   MAILSERVER_CLOUDFLARE_TOKEN  cloudflare:apiToken
//   MAILSERVER_USER_PASSWORDS    JSON {"alice@example.com": "password", …} for users whose password is secure
// DKIM keys: production keys live in Pulumi state (tls.PrivateKey). Here a fresh 2048-bit key per domain and selector
// is generated into <dir>/dkim/<selector>._domainkey.<domain>.pem unless one is already there, so reruns keep their keys.
// TLS keys (with mailserver:dnssec, for the TLSA records of _25._tcp.<hostname> in <dir>/dns/): likewise, one
// ECDSA P-256 key per name of mailserver:tlsKey and tlsNextKey in <dir>/tls/<name>.pem, generated unless there.
// The file may hold a public key only: to render the production record, put the key port 25 presents there
// (openssl s_client -starttls smtp -connect <hostname>:25 </dev/null | openssl x509 -pubkey -noout > <dir>/tls/k1.pem).
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { NAMESPACE, parseConfig, type MailStackConfig } from "../components/core/config";
import { planTlsaRecords, spkiSha256, tlsKeyNames } from "../components/core/dane";
import { dkimPublicKeyBase64, dkimSelectors } from "../components/core/dkim";
import type { RenderedFile } from "../components/core/files";
import { planRecords } from "../components/core/records";
import { renderFiles } from "../components/core/render";
import { zoneFiles } from "../components/core/zonefile";

const REPO_ROOT = resolve(__dirname, "..");
const SECRET_ENV: Record<string, string> = {
  "mailserver:relayPassword": "MAILSERVER_RELAY_PASSWORD",
  "cloudflare:apiToken": "MAILSERVER_CLOUDFLARE_TOKEN",
};

type Env = Record<string, string | undefined>;

function isSecure(value: unknown): value is { secure: string } {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    && Object.keys(value).length === 1 && "secure" in value;
}

function userPasswords(env: Env): Record<string, string> {
  const text = env.MAILSERVER_USER_PASSWORDS;
  if (!text) return {};
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)
    || Object.values(parsed).some((v) => typeof v !== "string")) {
    throw new Error('MAILSERVER_USER_PASSWORDS must be a JSON object {"address": "password", …}');
  }
  return parsed as Record<string, string>;
}

/** A user entry with its secure password taken from the environment, or an obvious placeholder hash. */
function resolveUser(user: unknown, index: number, passwords: Record<string, string>): unknown {
  if (typeof user !== "object" || user === null || !("password" in user) || !isSecure(user.password)) return user;
  const address = "address" in user && typeof user.address === "string" ? user.address.toLowerCase() : "";
  const { password: _secure, ...rest } = user;
  const given = passwords[address];
  if (given !== undefined) return { ...rest, password: given };
  // An accepted scheme prefix keeps parseConfig happy; the text shows in etc/dovecot/users as is.
  return { ...rest, passwordHash: `{ARGON2ID}<secret mailserver users[${index}].password not decrypted - set MAILSERVER_USER_PASSWORDS>` };
}

/** The `config:` map of a stack file as the raw values parseConfig takes; secure values resolved or replaced. */
export function rawFromStackYaml(text: string, env: Env = process.env): Record<string, unknown> {
  const doc: unknown = parseYaml(text);
  const config = typeof doc === "object" && doc !== null && "config" in doc ? doc.config : undefined;
  if (typeof config !== "object" || config === null) throw new Error("the stack file has no config: map");
  const passwords = userPasswords(env);
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const full = key.includes(":") ? key : `${NAMESPACE}:${key}`;
    if (isSecure(value)) {
      const name = SECRET_ENV[full];
      raw[full] = (name && env[name]) || `<secret ${full}: ${name ? `set ${name}` : "needs the Pulumi CLI"}>`;
    } else if (full === `${NAMESPACE}:users` && Array.isArray(value)) {
      raw[full] = value.map((u, i) => resolveUser(u, i, passwords));
    } else {
      raw[full] = value;
    }
  }
  // Secrets are often set only in the real stack (or not yet): preview with the env value or a placeholder.
  for (const [full, name] of Object.entries(SECRET_ENV)) {
    if (raw[full] === undefined) raw[full] = env[name] || `<secret ${full}: not in the stack file - set ${name}>`;
  }
  return raw;
}

export interface ManifestEntry {
  path: string; mode: string; owner: string; group: string; service: string; secret: boolean; rebuild?: string;
}

export function manifestOf(files: RenderedFile[]): ManifestEntry[] {
  return files.map(({ path, mode, owner, group, service, secret, rebuild }) =>
    ({ path, mode, owner, group, service, secret, ...(rebuild ? { rebuild } : {}) }));
}

/** Writes each file at <out>/<path> with its mode (ownership is in the manifest: we may not be root). */
export function writeTree(files: RenderedFile[], out: string): void {
  for (const f of files) {
    const target = join(out, f.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.content, { mode: 0o600 });
    chmodSync(target, parseInt(f.mode, 8));
  }
  writeFileSync(join(out, "manifest.json"), `${JSON.stringify(manifestOf(files), null, 2)}\n`);
}

/** The PEM in `file`; when there is none, `make`'s key is written there first (0600) and the file listed in `generated`. */
function keptOrGenerated(file: string, generated: string[], make: () => string | Buffer): string {
  if (!existsSync(file)) {
    writeFileSync(file, make(), { mode: 0o600 });
    generated.push(file);
  }
  return readFileSync(file, "utf8");
}

/**
 * Domain → selector → private key, from <out>/dkim/<selector>._domainkey.<domain>.pem; existing keys
 * are kept, missing ones are generated (local preview only).
 */
function localDkimKeys(config: MailStackConfig, out: string): { keys: Record<string, Record<string, string>>; generated: string[] } {
  const dir = join(out, "dkim");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys: Record<string, Record<string, string>> = {};
  const generated: string[] = [];
  for (const { name } of config.domains) {
    keys[name] = {};
    for (const selector of dkimSelectors(config)) {
      keys[name][selector] = keptOrGenerated(join(dir, `${selector}._domainkey.${name}.pem`), generated, () =>
        generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }));
    }
  }
  return { keys, generated };
}

/**
 * TLS key name → SHA-256 of its SubjectPublicKeyInfo, from <out>/tls/<name>.pem (a public or private PEM);
 * missing keys are generated as the stack makes them (ECDSA P-256), so reruns keep their records. None
 * without mailserver:dnssec, which publishes no TLSA record.
 */
export function localTlsKeys(config: MailStackConfig, out: string): { spkiHashes: Record<string, string>; generated: string[] } {
  if (!config.dnssec) return { spkiHashes: {}, generated: [] };
  const dir = join(out, "tls");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const spkiHashes: Record<string, string> = {};
  const generated: string[] = [];
  for (const name of tlsKeyNames(config)) {
    spkiHashes[name] = spkiSha256(keptOrGenerated(join(dir, `${name}.pem`), generated, () =>
      generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" })));
  }
  return { spkiHashes, generated };
}

export interface Rendered {
  files: RenderedFile[];
  /** Key files made by this run (DKIM, then TLS): local stand-ins for the keys in Pulumi state. */
  generated: { dkim: string[]; tls: string[] };
}

/** Renders a stack file into `out`: every server file, manifest.json, and the planned zones in dns/. */
export async function renderStack(stackFile: string, out: string, ip = "192.0.2.10"): Promise<Rendered> {
  const config = parseConfig(rawFromStackYaml(readFileSync(stackFile, "utf8")));
  const { keys, generated } = localDkimKeys(config, out);
  const signing = Object.fromEntries(Object.entries(keys).map(([d, bySelector]) => [d, bySelector[config.dkimSelector]]));
  const files = await renderFiles({ config, dkimPrivateKeys: signing });
  writeTree(files, out);

  const publicKeys = Object.fromEntries(Object.entries(keys).map(([d, bySelector]) => [d, Object.fromEntries(
    Object.entries(bySelector).map(([s, pem]) => [s, dkimPublicKeyBase64(pem)]))]));
  const tls = localTlsKeys(config, out);
  mkdirSync(join(out, "dns"), { recursive: true });
  for (const z of zoneFiles([...planRecords(config, ip, publicKeys), ...planTlsaRecords(config, tls.spkiHashes)])) {
    writeFileSync(join(out, "dns", `${z.zone}.zone`), z.bind);
    writeFileSync(join(out, "dns", `${z.zone}.json`), z.json);
  }
  return { files, generated: { dkim: generated, tls: tls.generated } };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stack: { type: "string" }, config: { type: "string" }, out: { type: "string" }, ip: { type: "string" } },
  });
  if (!values.out || (!values.stack === !values.config)) {
    throw new Error("usage: npm run render -- (--stack <name> | --config <file>) --out <dir> [--ip <address>]");
  }
  const stackFile = values.config ? resolve(values.config) : join(REPO_ROOT, `Pulumi.${values.stack}.yaml`);
  const out = resolve(values.out);
  const { files, generated } = await renderStack(stackFile, out, values.ip);

  console.log(`Rendered ${files.length} files from ${stackFile} into ${out} (see manifest.json).`);
  if (generated.dkim.length > 0) {
    console.log(`Generated local DKIM keys (production keys come from Pulumi state): ${generated.dkim.join(", ")}`);
  }
  if (generated.tls.length > 0) {
    console.log(`Generated local TLS keys for the TLSA records (production keys come from Pulumi state): ${generated.tls.join(", ")}`);
  }
  const placeholders = files.filter((f) => f.content.includes("<secret ")).map((f) => f.path);
  if (placeholders.length > 0) {
    console.log(`Secret placeholders (set the environment variables named in scripts/render.ts) in: ${placeholders.join(", ")}`);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
