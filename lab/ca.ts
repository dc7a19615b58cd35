// The lab's own certificate authority: signs the TLS certificates of the stand-ins (ACME directory, relay).
// The machine trusts it like a public CA; tests trust it through .lab/ca/ca.pem.
import * as fs from "node:fs";
import * as path from "node:path";
import { p } from "./paths";
import { run } from "./proc";

export const caPem = () => path.join(p.ca, "ca.pem");

export async function ensureCa(): Promise<void> {
  fs.mkdirSync(p.ca, { recursive: true, mode: 0o700 });
  if (fs.existsSync(caPem())) return;
  const key = path.join(p.ca, "ca.key");
  await run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
  await run("openssl", ["req", "-x509", "-new", "-key", key, "-days", "30", "-subj", "/CN=mailserver lab CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    "-out", caPem()]);
}

/** Issues a server certificate for `names` (DNS names or IPs); returns the cert and key paths. */
export async function issueCert(label: string, names: string[]): Promise<{ cert: string; key: string }> {
  const cert = path.join(p.ca, `${label}.pem`);
  const key = path.join(p.ca, `${label}.key`);
  if (fs.existsSync(cert) && fs.existsSync(key)) return { cert, key };
  const csr = path.join(p.ca, `${label}.csr`);
  const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  const ext = path.join(p.ca, `${label}.ext`);
  fs.writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  await run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
  await run("openssl", ["req", "-new", "-key", key, "-subj", `/CN=${names[0]}`, "-out", csr]);
  await run("openssl", ["x509", "-req", "-in", csr, "-CA", caPem(), "-CAkey", path.join(p.ca, "ca.key"),
    "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", cert]);
  fs.rmSync(csr);
  return { cert, key };
}
