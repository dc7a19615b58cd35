// Issue 6 §4 case 7: TLS on 465, 587, 993, 995 as independent tools see it: only TLS 1.2+, nothing that
// testssl.sh rates LOW or worse, and the certificate is the ACME stand-in's for the hostname.
// testssl.sh scans one port per daemon (465: Postfix, 993: Dovecot): a scan is minutes of CPU, and each daemon
// has one TLS configuration (main.cf's smtpd_tls_*, dovecot's ssl_*). That the other port serves the same one is
// checked on every port instead: the same cipher suites in the same server order, for TLS 1.2 and 1.3.
import { X509Certificate } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLab } from "./lib/lab";
import { onMachineOk } from "./lib/machine";
import { cipherOrder, handshake, servedChain, StartTls, testssl, TlsVersion } from "./lib/openssl";
import { runOk } from "./lib/run";
import { sleep } from "./lib/wait";

const lab = loadLab();
/** label, port, STARTTLS, the port testssl.sh scans for the same daemon (the port itself: it is scanned). */
const ports: Array<[string, number, StartTls | undefined, number]> = [
  ["465 (SMTP, implicit TLS)", 465, undefined, 465],
  ["587 (SMTP, STARTTLS)", 587, "smtp", 465],
  ["993 (IMAP)", 993, undefined, 993],
  ["995 (POP3)", 995, undefined, 993],
];
/** The cipher list each daemon is configured with, as it reads it on the machine: the order a port must keep to. */
const configuredList = (port: number) => onMachineOk(lab, port === 465 ? "postconf -h tls_medium_cipherlist" : "doveconf -h ssl_cipher_list");

/** Findings that come from the lab's ACME stand-in, not from the server's configuration: filtered by id. */
const LAB_INHERENT = new Map<string, string>([
  // pebble issues 5-year certificates; Let's Encrypt's are 90 days, renewed by the server's ACME client.
  ["cert_validityPeriod", "pebble's certificate lifetime"],
  // pebble's certificates carry neither an OCSP URL nor a CRL distribution point; Let's Encrypt's carry a CRL.
  ["cert_revocation", "pebble publishes no revocation information"],
]);

describe("the TLS 1.0 probe can succeed (control)", () => {
  // Proves that a refusal below is the server's: the same client, against a local server that allows
  // TLS 1.0, completes the handshake.
  test("openssl s_client -tls1 reaches TLS 1.0 with a loopback server that offers it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "e2e-tls1-"));
    const port = 20000 + Math.floor(Math.random() * 20000);
    await runOk("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k.pem"),
      "-out", join(dir, "c.pem"), "-days", "1", "-subj", "/CN=control.e2e.test"]);
    const server = spawn("openssl", ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", join(dir, "c.pem"),
      "-key", join(dir, "k.pem"), "-tls1", "-cipher", "DEFAULT@SECLEVEL=0", "-quiet", "-naccept", "1"], { stdio: "ignore" });
    try {
      await sleep(1_000);
      const h = await handshake({ host: "127.0.0.1", port, servername: "control.e2e.test", version: "tls1" });
      expect(h.protocol).toBe("TLSv1");
    } finally {
      server.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// testssl.sh takes minutes per port, mostly CPU: the two scans run side by side, started once, and each scanned
// port's test reads its own.
const scanned = [...new Set(ports.map(([, , , scan]) => scan))];
const scans = new Map<number, ReturnType<typeof testssl>>();
const scanOf = (port: number) => {
  if (scans.size === 0) {
    for (const [, p, s] of ports.filter(([, p]) => scanned.includes(p))) {
      const scan = testssl({ ip: lab.ip, hostname: lab.hostname, port: p, starttls: s, caFile: lab.acmeRoot });
      scan.catch(() => undefined); // awaited by its own test; a port not yet asked must not be an unhandled rejection
      scans.set(p, scan);
    }
  }
  const scan = scans.get(port);
  if (!scan) throw new Error(`port ${port} is not one testssl.sh scans`);
  return scan;
};

describe.each(ports)("port %s", (_label, port, starttls, scannedPort) => {
  const refused: TlsVersion[] = ["tls1", "tls1_1"];
  test.each(refused)("refuses %s", async (version) => {
    const h = await handshake({ host: lab.ip, port, servername: lab.hostname, version, starttls });
    expect(h.ok).toBe(false);
    expect(h.protocol).toBeUndefined();
  });

  test("accepts TLS 1.2 with a certificate that verifies against the ACME root for the hostname", async () => {
    const h = await handshake({ host: lab.ip, port, servername: lab.hostname, version: "tls1_2", starttls, caFile: lab.acmeRoot });
    expect(h.output).toMatch(/Verification: OK/);
    expect(h.protocol).toBe("TLSv1.2");
  });

  test("serves a certificate for the hostname that chains to the ACME stand-in's root", async () => {
    const pems = await servedChain(lab.ip, port, lab.hostname, starttls);
    const dir = mkdtempSync(join(tmpdir(), "e2e-chain-"));
    try {
      const certs = pems.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      writeFileSync(join(dir, "leaf.pem"), `${certs[0]}\n`);
      writeFileSync(join(dir, "rest.pem"), `${certs.slice(1).join("\n")}\n`);
      const args = ["verify", "-CAfile", lab.acmeRoot, "-purpose", "sslserver"];
      if (certs.length > 1) args.push("-untrusted", join(dir, "rest.pem"));
      const v = await runOk("openssl", [...args, join(dir, "leaf.pem")]);
      expect(v.stdout).toMatch(/: OK$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(new X509Certificate(pems).checkHost(lab.hostname)).toBe(lab.hostname);
  });

  test.each(["tls1_2", "tls1_3"] as const)("%s: the suites of its daemon's configured list, in that order, as on the port testssl.sh scans", async (version) => {
    const order = (p: number, s: StartTls | undefined) => cipherOrder({ host: lab.ip, port: p, servername: lab.hostname, version, starttls: s });
    const suites = await order(port, starttls);
    expect(suites.length).toBeGreaterThan(0);
    if (version === "tls1_2") {
      const configured = (await configuredList(scannedPort)).trim().split(":");
      expect(suites.every((c) => configured.includes(c))).toBe(true);
      expect(suites).toEqual(configured.filter((c) => suites.includes(c)));
    }
    if (port !== scannedPort) expect(suites).toEqual(await order(scannedPort, ports.find(([, p]) => p === scannedPort)?.[2]));
  });
});

describe.each(ports.filter(([, p]) => scanned.includes(p)))("port %s, scanned", (_label, port) => {
  test("testssl.sh finds nothing of severity LOW or worse", async () => {
    const { findings, log } = await scanOf(port);
    const bad = findings.filter((f) =>
      (["LOW", "MEDIUM", "HIGH", "CRITICAL"].includes(f.severity) && !LAB_INHERENT.has(f.id)) ||
      // A scan that could not finish is not a clean scan.
      f.severity === "FATAL" || f.id === "scanProblem");
    if (bad.length > 0) process.stderr.write(log);
    expect(bad.map((f) => `${f.severity} ${f.id}: ${f.finding}`)).toEqual([]);
  }, 900_000);
});
