// DANE for inbound SMTP (RFC 7672): the TLSA records of port 25, computed from the server's TLS keys.
//
// Why "3 1 1" (DANE-EE, SubjectPublicKeyInfo, SHA-256): it pins the key, not the certificate, so a renewal
// with the same key keeps the record valid, and it is what RFC 7672 §3.1.1 recommends for SMTP servers.
// Why the key comes from the stack (tls.PrivateKey, kept in the state) and not from certbot: the record
// must exist before a key serves, so the key must be known when the records are planned. A key made on the
// server is known only after provisioning (a deploy that reads it back would publish the record after the
// key already serves), dies with the VM (a replaced VM would serve an unpublished key), and cannot be
// published ahead of a rollover. So the program makes the key, publishes its TLSA, and the server gets the
// key and requests certificates for it (certbot --csr, templates/provision/mailserver-tls.sh).
//
// Why port 25 only: RFC 7672 is the DANE profile for MX hosts, the only place where TLS is otherwise
// opportunistic and unauthenticated; submission (465/587) and IMAP/POP3 (993/995) are used by mail clients,
// which authenticate the WebPKI certificate and do not look up TLSA (Mail-in-a-Box publishes 25 and its web
// 443, no client port either). Every extra record is one more to keep right through each rollover.
import { createHash, createPublicKey } from "node:crypto";
import type { MailStackConfig } from "./config";
import { RecordSpec, zoneFor } from "./records";

/** The port whose TLSA record is published. */
export const DANE_PORT = 25;

/** The key names whose TLSA records are published: the serving key, then the next one (rollover). */
export function tlsKeyNames(config: Pick<MailStackConfig, "tlsKey" | "tlsNextKey">): string[] {
  return config.tlsNextKey === undefined ? [config.tlsKey] : [config.tlsKey, config.tlsNextKey];
}

/** SHA-256 of the DER SubjectPublicKeyInfo of a key given as PEM (public or private), lower-case hex. */
export function spkiSha256(pem: string): string {
  const der = createPublicKey(pem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex");
}

/** TLSA owner name of the MX host: _25._tcp.<hostname>. */
export function tlsaName(hostname: string): string {
  return `_${DANE_PORT}._tcp.${hostname}`;
}

/** TLSA content as Cloudflare stores it: "usage selector matching-type hex". */
export function tlsaContent(spkiHash: string): string {
  if (!/^[0-9a-f]{64}$/.test(spkiHash)) throw new Error(`not a SHA-256 hex digest: ${spkiHash}`);
  return `3 1 1 ${spkiHash}`;
}

/**
 * The TLSA records of the MX host, one per published key (serving, then next), in the hostname's zone; none
 * without DNSSEC: a TLSA record in an unsigned zone is ignored by every DANE client (RFC 7672 §2.2), and
 * promising DANE there would only mislead. `spkiHashes`: key name → spkiSha256 of that key.
 */
export function planTlsaRecords(config: MailStackConfig, spkiHashes: Record<string, string>): RecordSpec[] {
  if (!config.dnssec) return [];
  const zone = zoneFor(config, config.hostname);
  if (!zone) throw new Error(`no hosted zone holds ${config.hostname}`);
  return tlsKeyNames(config).map((key) => {
    const hash = spkiHashes[key];
    if (hash === undefined) throw new Error(`no public key for the TLS key ${key}`);
    return { zoneId: zone.zoneId, zone: zone.name, name: tlsaName(config.hostname), type: "TLSA", content: tlsaContent(hash), ttl: config.dnsTtl };
  });
}
