// DNSSEC and DANE from outside the server: the lab's validating resolver (unbound), the lab DNS (knot) for
// controls that publish a wrong record, and Postfix's own DANE client (posttls-finger).
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Lab, LAB_DIR } from "./lab";
import { servedChain } from "./openssl";
import { run, runOk } from "./run";

const KNOT_CONF = join(LAB_DIR, "dns", "knot.conf");
const UNBOUND_CONF = join(LAB_DIR, "dns", "unbound", "unbound.conf");

export interface Answer { ad: boolean; status: string; records: string[] }

/** A query through the lab's validating resolver with the DO bit: the AD flag, the status and the answer's records of that type. */
export async function resolve(lab: Lab, name: string, type: string): Promise<Answer> {
  const r = await runOk("kdig", [`@${lab.resolver}`, "+dnssec", "+nocomments", "+nostats", "+noquestion", "+header", name, type]);
  const flags = /;; Flags: ([a-z ]+);/.exec(r.stdout)?.[1].split(" ") ?? [];
  const status = /status: ([A-Z]+)/.exec(r.stdout)?.[1] ?? "?";
  const records = r.stdout.split("\n").filter((l) => !l.startsWith(";") && l.split(/\s+/)[3] === type)
    .map((l) => l.split(/\s+/).slice(4).join(" "));
  return { ad: flags.includes("ad"), status, records };
}

/** DS digest (SHA-256, RFC 4034 §5.1.4) of a DNSKEY "flags protocol algorithm base64" of a zone. */
export function dsDigest(zone: string, dnskey: string): string {
  const [flags, protocol, algorithm, ...key] = dnskey.split(/\s+/);
  const owner = Buffer.concat([...zone.replace(/\.$/, "").toLowerCase().split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const rdata = Buffer.concat([Buffer.from([Number(flags) >> 8, Number(flags) & 0xff, Number(protocol), Number(algorithm)]), Buffer.from(key.join(""), "base64")]);
  return createHash("sha256").update(owner).update(rdata).digest("hex");
}

/** Replaces a name's records of one type in the lab DNS (knot signs the change), until restoreZone. */
export async function replaceRecords(zone: string, owner: string, type: string, rdata: string): Promise<void> {
  const knotc = (...args: string[]) => runOk("knotc", ["-c", KNOT_CONF, ...args]);
  await knotc("zone-begin", zone);
  await knotc("zone-unset", zone, `${owner}.`, type);
  await knotc("zone-set", zone, `${owner}.`, "300", type, ...rdata.split(" "));
  await knotc("zone-commit", zone);
  await flushResolver(zone);
}

/** Adds a record beside the name's others in the lab DNS (knot signs the change), until restoreZone. */
export async function addRecord(zone: string, owner: string, type: string, rdata: string): Promise<void> {
  const knotc = (...args: string[]) => runOk("knotc", ["-c", KNOT_CONF, ...args]);
  await knotc("zone-begin", zone);
  await knotc("zone-set", zone, `${owner}.`, "300", type, ...rdata.split(" "));
  await knotc("zone-commit", zone);
  await flushResolver(zone);
}

/** The zone as the last deploy published it (knot reads its zone file again). */
export async function restoreZone(zone: string): Promise<void> {
  await runOk("knotc", ["-c", KNOT_CONF, "zone-reload", zone]);
  await flushResolver(zone);
}

async function flushResolver(zone: string): Promise<void> {
  await runOk("unbound-control", ["-c", UNBOUND_CONF, "flush_zone", zone]);
}

export interface DaneCheck { verified: boolean; output: string }

/**
 * Postfix's DANE client against port 25 of the host, as a sending MTA with `smtp_tls_security_level = dane`
 * would connect: posttls-finger looks up the TLSA record through the system resolver, which here is the lab's
 * validating resolver (a private mount namespace gives it its own resolv.conf; `trust-ad` makes glibc keep AD).
 */
export async function daneCheck(lab: Lab, host: string): Promise<DaneCheck> {
  const dir = mkdtempSync(join(tmpdir(), "dane-"));
  try {
    writeFileSync(join(dir, "resolv.conf"), `nameserver ${lab.resolver}\noptions trust-ad edns0\n`);
    // posttls-finger reads main.cf; an empty one means Postfix's defaults.
    writeFileSync(join(dir, "main.cf"), "");
    const r = await run("unshare", ["-m", "sh", "-c",
      `mount --bind "$1/resolv.conf" /etc/resolv.conf && MAIL_CONFIG="$1" exec posttls-finger -t30 -T180 -c -L verbose,summary -l dane -P /etc/ssl/certs "[$2]"`,
      "sh", dir, host], { timeoutMs: 120_000 });
    const output = r.stdout + r.stderr;
    return { verified: new RegExp(`Verified TLS connection established to ${host.replace(/\./g, "\\.")}\\[`).test(output) && /Matched DANE EE certificate/.test(output), output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SHA-256 of the SubjectPublicKeyInfo of the certificate port 25 serves after STARTTLS, and the certificate's fingerprint. */
export async function servedSpki(lab: Lab): Promise<{ spki: string; fingerprint: string }> {
  const cert = new X509Certificate(await servedChain(lab.ip, 25, lab.hostname, "smtp"));
  const der = cert.publicKey.export({ type: "spki", format: "der" });
  return { spki: createHash("sha256").update(der).digest("hex"), fingerprint: cert.fingerprint256 };
}
