// Issue 11 §3: the usual path to production, self-signed until DNS has propagated, then acme. After the
// switch every TLS port (25 STARTTLS, 465, 587, 993, 995, and nginx's 443) serves the ACME stand-in's certificate: the
// provisioning that changed the certificate reloads every daemon that reads it. The switch back to acme is
// also the return to the standard lab.
import { X509Certificate } from "node:crypto";
import { loadLab } from "./lib/lab";
import { configCopy, deployLab, labConfigFile } from "./lib/deploy";
import { handshake, servedChain, StartTls } from "./lib/openssl";

const DEPLOY_TIMEOUT = 30 * 60_000;
const lab = loadLab();
const configFile = labConfigFile(lab);
const PORTS: [number, StartTls | undefined][] = [[25, "smtp"], [465, undefined], [587, "smtp"], [993, undefined], [995, undefined], [443, undefined]];

/** The leaf certificate a port serves. */
async function leaf(port: number, starttls: StartTls | undefined): Promise<X509Certificate> {
  return new X509Certificate(await servedChain(lab.ip, port, lab.hostname, starttls));
}

/** Verifies against the ACME stand-in's root only, for the hostname (openssl, not Node). */
async function verifiesAgainstAcme(port: number, starttls: StartTls | undefined): Promise<boolean> {
  const h = await handshake({ host: lab.ip, port, servername: lab.hostname, version: "tls1_2", starttls, caFile: lab.acmeRoot });
  return h.ok && /Verification: OK/.test(h.output);
}

describe("switching tls from self-signed to acme", () => {
  const selfSigned = new Map<number, X509Certificate>();

  beforeAll(async () => {
    await deployLab(configCopy(configFile, "self-signed", { "mailserver:tls": "self-signed" }));
    for (const [port, starttls] of PORTS) selfSigned.set(port, await leaf(port, starttls));
    // The standard lab is acme: this deploy is the switch and the restore at once.
    await deployLab(configFile);
  }, DEPLOY_TIMEOUT);

  afterAll(() => deployLab(configFile), DEPLOY_TIMEOUT);

  test.each(PORTS)("before: port %d served a self-signed certificate for the hostname", (port) => {
    const cert = selfSigned.get(port);
    expect(cert).toBeDefined();
    expect(cert!.checkHost(lab.hostname)).toBe(lab.hostname);
    expect(cert!.checkIssued(cert!)).toBe(true);
  });

  test("before: the self-signed certificate also names mta-sts., autoconfig. and autodiscover. of the primary domain", () => {
    const domain = lab.hostname.slice(lab.hostname.indexOf(".") + 1);
    for (const name of [`mta-sts.${domain}`, `autoconfig.${domain}`, `autodiscover.${domain}`]) expect(selfSigned.get(443)?.checkHost(name)).toBe(name);
  });

  test.each(PORTS)("after: port %d serves the ACME certificate, verified against the ACME root", async (port, starttls) => {
    const cert = await leaf(port, starttls);
    expect(cert.fingerprint256).not.toBe(selfSigned.get(port)?.fingerprint256);
    expect(cert.checkIssued(cert)).toBe(false);
    expect(cert.checkHost(lab.hostname)).toBe(lab.hostname);
    expect(await verifiesAgainstAcme(port, starttls)).toBe(true);
  });
});
