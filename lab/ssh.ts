// remote.Command's local equivalent: the system ssh client, key in a 0600 file (never on a command line).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { LAB, p } from "./paths";
import { run, RunResult, sleep } from "./proc";

export interface Connection {
  host: string;
  port?: number;
  user?: string;
  privateKey?: string;
  dialErrorLimit?: number;
  perDialTimeout?: number;
  /** "type base64": pinned as pulumi-command 1.x does (ssh.FixedHostKey, host key algorithms = its type). */
  hostKey?: string;
}

export function keyFile(privateKey: string): string {
  const dir = path.join(LAB, "ssh");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `key-${createHash("sha256").update(privateKey).digest("hex").slice(0, 12)}`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
  return file;
}

/**
 * With a host key, the lab's known_hosts holds exactly that key for the host and ssh refuses any other
 * (pulumi-command provider/pkg/provider/remote/connection.go, v1.2.1); the admin/e2e command reads the same
 * file. Without one, the first key seen is kept, as before.
 */
export function sshArgs(c: Connection): string[] {
  if (c.hostKey) {
    const known = c.port !== undefined && c.port !== 22 ? `[${c.host}]:${c.port}` : c.host;
    const line = `${known} ${c.hostKey.trim()}\n`;
    if (!fs.existsSync(p.knownHosts) || fs.readFileSync(p.knownHosts, "utf8") !== line) fs.writeFileSync(p.knownHosts, line, { mode: 0o600 });
  }
  return [
    ...(c.privateKey ? ["-i", keyFile(c.privateKey), "-o", "IdentitiesOnly=yes"] : []),
    "-o", "BatchMode=yes",
    ...(c.hostKey ? ["-o", "StrictHostKeyChecking=yes", "-o", `HostKeyAlgorithms=${c.hostKey.trim().split(" ")[0]}`] : ["-o", "StrictHostKeyChecking=accept-new"]),
    "-o", `UserKnownHostsFile=${p.knownHosts}`,
    "-o", `ConnectTimeout=${c.perDialTimeout ?? 15}`,
    "-p", String(c.port ?? 22),
    `${c.user ?? "root"}@${c.host}`,
  ];
}

/** Runs `command` on the remote host with `stdin`; retries only failures to connect (ssh's exit 255 before auth). */
export async function runRemote(c: Connection, command: string, stdin?: string): Promise<RunResult> {
  const attempts = Math.max(1, c.dialErrorLimit ?? 10);
  for (let i = 1; ; i++) {
    const r = await run("ssh", [...sshArgs(c), "--", command], { input: stdin, allowFail: true });
    const dialFailed = r.code === 255 && /Connection refused|timed out|No route|Connection reset|kex_exchange/i.test(r.stderr);
    if (!dialFailed || i >= attempts) return r;
    await sleep(2000);
  }
}
