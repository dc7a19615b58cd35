// A deployed Pulumi stack as a status target: the configuration from Pulumi.<stack>.yaml (secrets are not
// needed and stay encrypted), the IP and the SSH key from `pulumi stack output --json --show-secrets`.
// The deploy key is written to a 0600 file in a private temporary directory (never on a command line) that
// does not outlive the process (privateKeyDir).
import { spawnSync } from "node:child_process";
import { promises as dnsp } from "node:dns";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../components/core/config";
import { sshEndpoint } from "../components/core/ports";
import type { RemoteResult, StatusTarget } from "../components/status/checks";
import { authoritativeServers, resolverFor } from "../components/status/dns";

const REPO_ROOT = resolve(__dirname, "..");
/** Stands in for secure: values: no check needs a secret of the stack file. */
const NOT_NEEDED = "not-needed-by-status";

function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (typeof value === "object" && value !== null) {
    if ("secure" in value) return NOT_NEEDED;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecrets(v)]));
  }
  return value;
}

/** Secrets the configuration requires but no check uses: they need not be set or decrypted. */
const UNUSED_SECRETS = ["mailserver:relayPassword", "cloudflare:apiToken"];

function stackOutputs(dir: string, stack: string): Record<string, unknown> {
  const r = spawnSync("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack], { cwd: dir, encoding: "utf8", env: process.env });
  if (r.error || r.status !== 0) throw new Error(`pulumi stack output --stack ${stack} failed: ${r.error?.message ?? r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

export interface StackOptions {
  ehloName: string;
  outsideAddress: string;
  mailbox: StatusTarget["mailbox"];
  /** The validating resolver asked about the TLSA record; the system's (resolv.conf) when absent. */
  resolver?: string;
}

/** The TLSA records the stack published, from its output (absent in stacks deployed before it existed). */
export function plannedTlsa(outputs: Record<string, unknown>): StatusTarget["tlsaPlanned"] {
  const records = outputs.tlsaRecords;
  if (Array.isArray(records) && records.every((r) => typeof r === "string")) return records as string[];
  return { unknown: "the stack has no tlsaRecords output yet: run pulumi up" };
}

const KEY_DIR_PREFIX = "mailserver-status-";

/**
 * A private directory for the deploy key that does not outlive this process: removed by `remove`, on exit (an
 * uncaught exception exits through "exit" too) and on SIGINT, SIGTERM and SIGHUP. One left behind by a process
 * killed outright (SIGKILL, a power cut) names that process: the next run removes it once the process is gone.
 */
export function privateKeyDir(base = tmpdir()): { dir: string; remove: () => void } {
  for (const name of readdirSync(base)) {
    const pid = Number(new RegExp(`^${KEY_DIR_PREFIX}(\\d+)-`).exec(name)?.[1]);
    const path = join(base, name);
    if (pid > 0 && !alive(pid) && statSync(path).uid === process.getuid?.()) rmSync(path, { recursive: true, force: true });
  }
  const dir = mkdtempSync(join(base, `${KEY_DIR_PREFIX}${process.pid}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", remove);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      remove();
      // The default action now that this listener is gone: die of the signal, as without it.
      process.kill(process.pid, signal);
    });
  }
  return { dir, remove };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** `dir`: the project directory, holding Pulumi.<stack>.yaml (where the pulumi CLI runs). */
export function stackTarget(stack: string, o: StackOptions, dir = REPO_ROOT): { target: StatusTarget; sshArgs: string[]; cleanup: () => void } {
  const file = join(dir, `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) throw new Error(`${file} does not exist — name a stack of this project (pulumi stack ls)`);
  const doc = parseYaml(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const raw = withoutSecrets(doc?.config ?? {}) as Record<string, unknown>;
  for (const key of UNUSED_SECRETS) raw[key] ??= NOT_NEEDED;
  const config = parseConfig(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])));
  const outputs = stackOutputs(dir, stack);
  const ip = String(outputs.ip ?? "");
  const key = outputs.deployPrivateKey;
  const hostKey = outputs.sshHostKey;
  if (!ip || typeof key !== "string" || typeof hostKey !== "string") {
    throw new Error(`stack ${stack} has no ip, deployPrivateKey or sshHostKey output — has it been deployed (pulumi up)?`);
  }
  const { host, port } = sshEndpoint(config, ip);
  const { dir: keys, remove } = privateKeyDir();
  try {
    writeFileSync(join(keys, "key"), key.endsWith("\n") ? key : `${key}\n`, { mode: 0o600 });
    writeFileSync(join(keys, "known_hosts"), `${port === 22 ? host : `[${host}]:${port}`} ${hostKey.trim()}\n`, { mode: 0o600 });
  } catch (e) {
    remove();
    throw e;
  }
  const ssh = ["-i", join(keys, "key"), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
    "-o", `UserKnownHostsFile=${join(keys, "known_hosts")}`, "-o", "ConnectTimeout=15", "-p", String(port), `${config.deployUser}@${host}`];
  const system = new dnsp.Resolver({ timeout: 5_000, tries: 2 });
  const target: StatusTarget = {
    config,
    ip,
    onServer: (script): Promise<RemoteResult> => {
      const r = spawnSync("ssh", [...ssh, "sudo -n bash -s"], { input: `set -euo pipefail\n${script}\n`, encoding: "utf8", timeout: 120_000 });
      return Promise.resolve({ code: r.status, stdout: r.stdout ?? "", stderr: r.stderr || (r.error?.message ?? "") });
    },
    authoritative: async (zone) => resolverFor(await authoritativeServers(system, zone)),
    resolver: system,
    ehloName: o.ehloName,
    outsideAddress: o.outsideAddress,
    mailbox: o.mailbox,
    validatingResolver: o.resolver === undefined ? system.getServers() : [o.resolver],
    tlsaPlanned: plannedTlsa(outputs),
  };
  return { target, sshArgs: ssh, cleanup: remove };
}
