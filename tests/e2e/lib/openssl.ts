// openssl s_client and testssl.sh runners: TLS seen by independent tools, not by Node's own stack.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./run";

export type TlsVersion = "tls1" | "tls1_1" | "tls1_2" | "tls1_3";
export type StartTls = "smtp" | "imap" | "pop3";

export interface Handshake {
  ok: boolean;
  protocol?: string;
  output: string;
}

/**
 * One handshake pinned to a single protocol version. SECLEVEL=0 lets Debian's OpenSSL offer TLS 1.0/1.1
 * at all, so that a refusal proven here is the server's, not the client's.
 */
export async function handshake(opts: {
  host: string;
  port: number;
  servername: string;
  version: TlsVersion;
  starttls?: StartTls;
  caFile?: string;
}): Promise<Handshake> {
  const args = ["s_client", "-connect", `${opts.host}:${opts.port}`, "-servername", opts.servername, `-${opts.version}`, "-brief"];
  if (opts.version !== "tls1_3") args.push("-cipher", "DEFAULT@SECLEVEL=0");
  if (opts.starttls) args.push("-starttls", opts.starttls);
  if (opts.caFile) args.push("-CAfile", opts.caFile, "-verify_return_error", "-verify_hostname", opts.servername);
  const r = await run("openssl", args, { input: "", timeoutMs: 30_000 });
  const output = `${r.stdout}\n${r.stderr}`;
  const protocol = /Protocol version: (\S+)/.exec(output)?.[1];
  return { ok: r.code === 0 && protocol !== undefined, protocol, output };
}

/**
 * The cipher suites a server accepts for one protocol version, in the order it picks them: the client offers
 * every suite its OpenSSL knows (SECLEVEL=0, so nothing is left out on the client's side), notes the one the
 * server chose, and offers the rest again until the server refuses. With a server-side order (Postfix's
 * tls_preempt_cipherlist, Dovecot's server preference) the result is that order; a port that accepts one more
 * suite, or orders them otherwise, shows. TLS 1.3 has five suites, set with -ciphersuites.
 */
export async function cipherOrder(opts: { host: string; port: number; servername: string; version: "tls1_2" | "tls1_3";
  starttls?: StartTls }): Promise<string[]> {
  const all = opts.version === "tls1_3"
    ? ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256", "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"]
    : [];
  const chosen: string[] = [];
  for (;;) {
    const offer = opts.version === "tls1_3"
      ? ["-ciphersuites", all.filter((c) => !chosen.includes(c)).join(":")]
      : ["-cipher", ["ALL:COMPLEMENTOFALL", ...chosen.map((c) => `!${c}`), "@SECLEVEL=0"].join(":")];
    if (offer[1] === "") return chosen;
    const args = ["s_client", "-connect", `${opts.host}:${opts.port}`, "-servername", opts.servername, `-${opts.version}`, "-brief", ...offer];
    if (opts.starttls) args.push("-starttls", opts.starttls);
    const r = await run("openssl", args, { input: "", timeoutMs: 30_000 });
    const suite = /Ciphersuite: (\S+)/.exec(`${r.stdout}\n${r.stderr}`)?.[1];
    if (r.code !== 0 || !suite) return chosen;
    if (chosen.includes(suite)) throw new Error(`${opts.host}:${opts.port} chose ${suite} again, which was not offered`);
    chosen.push(suite);
  }
}

/** The PEM chain the server presents (leaf first). */
export async function servedChain(host: string, port: number, servername: string, starttls?: StartTls): Promise<string> {
  const args = ["s_client", "-connect", `${host}:${port}`, "-servername", servername, "-showcerts"];
  if (starttls) args.push("-starttls", starttls);
  const r = await run("openssl", args, { input: "", timeoutMs: 30_000 });
  const pems = r.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!pems) throw new Error(`no certificate from ${host}:${port}:\n${r.stdout}\n${r.stderr}`);
  return `${pems.join("\n")}\n`;
}

/** Debian installs testssl.sh as `testssl`; upstream checkouts call it testssl.sh. */
const TESTSSL = ["/usr/bin/testssl", "/usr/local/bin/testssl.sh", "/usr/bin/testssl.sh"].find((p) => existsSync(p)) ?? "testssl";

export interface TestsslFinding {
  id: string;
  severity: string;
  finding: string;
  port?: string;
}

/**
 * testssl.sh's default groups that can rate a finding LOW or worse: protocols (-p), cipher categories (-s),
 * forward secrecy (-f), server preferences (-P), server defaults: the certificate (-S), HTTP headers (-h: only
 * on an HTTP service) and every vulnerability (-U). Left out are the two default groups whose findings are all
 * INFO and which take most of a scan's time: each cipher one by one (-e, run_allciphers) and client simulation
 * (-c, run_client_simulation). Read from testssl.sh 3.0.8 (Debian's /usr/bin/testssl): set_scanning_defaults()
 * for the default groups, the option parser for what each flag sets, and those functions' fileout calls.
 */
const TESTSSL_GROUPS = ["-p", "-s", "-f", "-P", "-S", "-h", "-U"];

/** testssl.sh on one port; returns every finding (the caller filters by severity). */
export async function testssl(opts: {
  ip: string;
  hostname: string;
  port: number;
  starttls?: StartTls;
  caFile: string;
}): Promise<{ findings: TestsslFinding[]; log: string }> {
  const dir = mkdtempSync(join(tmpdir(), "e2e-testssl-"));
  const json = join(dir, "out.json");
  try {
    const args = [
      ...TESTSSL_GROUPS, "--quiet", "--color", "0", "--warnings", "batch", "--severity", "LOW", "--jsonfile", json,
      // The hostname resolves only in the lab's DNS: connect to the lab IP, present the name for SNI.
      "--ip", opts.ip, "--nodns", "none", "--add-ca", opts.caFile, "--connect-timeout", "10", "--openssl-timeout", "10",
    ];
    if (opts.starttls) args.push("--starttls", opts.starttls);
    args.push(`${opts.hostname}:${opts.port}`);
    const r = await run(TESTSSL, args, { timeoutMs: 900_000 });
    let findings: TestsslFinding[] = [];
    try {
      findings = JSON.parse(readFileSync(json, "utf8")) as TestsslFinding[];
    } catch (e) {
      throw new Error(`testssl.sh wrote no JSON (exit ${r.code}): ${String(e)}\n${r.stdout}\n${r.stderr}`);
    }
    return { findings, log: `${r.stdout}\n${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
