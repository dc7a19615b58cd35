// Issue 6 §4 case 7: TLS on 465, 587, 993, 995 as independent tools see it: only TLS 1.2+, nothing that
// testssl.sh rates LOW or worse, and the certificate is the ACME stand-in's for the hostname.
import { X509Certificate } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLab } from "./lib/lab";
import { handshake, servedChain, StartTls, testssl, TlsVersion } from "./lib/openssl";
import { runOk } from "./lib/run";
import { sleep } from "./lib/wait";

const lab = loadLab();
const ports: Array<[string, number, StartTls | undefined]> = [
  ["465 (SMTP, implicit TLS)", 465, undefined],
  ["587 (SMTP, STARTTLS)", 587, "smtp"],
  ["993 (IMAP)", 993, undefined],
  ["995 (POP3)", 995, undefined],
];

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

// testssl.sh takes minutes per port, mostly waiting on handshakes: the four scans run side by side, started
// once, and each port's test reads its own.
const scans = new Map<number, ReturnType<typeof testssl>>();
const scanOf = (port: number, starttls: StartTls | undefined) => {
  if (scans.size === 0) {
    for (const [, p, s] of ports) {
      const scan = testssl({ ip: lab.ip, hostname: lab.hostname, port: p, starttls: s, caFile: lab.acmeRoot });
      scan.catch(() => undefined); // awaited by its own test; a port not yet asked must not be an unhandled rejection
      scans.set(p, scan);
    }
  }
  return scans.get(port) ?? testssl({ ip: lab.ip, hostname: lab.hostname, port, starttls, caFile: lab.acmeRoot });
};

describe.each(ports)("port %s", (_label, port, starttls) => {
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

  test("testssl.sh finds nothing of severity LOW or worse", async () => {
    const { findings, log } = await scanOf(port, starttls);
    const bad = findings.filter((f) =>
      (["LOW", "MEDIUM", "HIGH", "CRITICAL"].includes(f.severity) && !LAB_INHERENT.has(f.id)) ||
      // A scan that could not finish is not a clean scan.
      f.severity === "FATAL" || f.id === "scanProblem");
    if (bad.length > 0) process.stderr.write(log);
    expect(bad.map((f) => `${f.severity} ${f.id}: ${f.finding}`)).toEqual([]);
  }, 900_000);
});
