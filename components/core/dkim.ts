// DKIM public-key records (RFC 6376 §3.6.1): the DNS half of the key OpenDKIM signs with.
import { createPublicKey } from "node:crypto";
import type { MailStackConfig } from "./config";

/** Every selector with a published key: the current one (the only one that signs) first, then the retired ones. */
export function dkimSelectors(config: Pick<MailStackConfig, "dkimSelector" | "dkimRetiredSelectors">): string[] {
  return [config.dkimSelector, ...config.dkimRetiredSelectors];
}

/**
 * Base64 of the DER SubjectPublicKeyInfo of an RSA key, the `p=` value of a DKIM record.
 * Accepts a private key PEM (PKCS#1 from tls.PrivateKey, or PKCS#8) or a public key PEM:
 * node derives the public half, so the record always matches the key the server gets.
 */
export function dkimPublicKeyBase64(privateOrPublicPem: string): string {
  const key = createPublicKey(privateOrPublicPem);
  if (key.asymmetricKeyType !== "rsa") {
    throw new Error(`DKIM key must be RSA (k=rsa), got ${key.asymmetricKeyType ?? "unknown"}`);
  }
  return key.export({ type: "spki", format: "der" }).toString("base64");
}

/** The text of the record at `<selector>._domainkey.<domain>`, before TXT quoting. */
export function dkimRecordContent(publicKeyBase64: string): string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(publicKeyBase64)) {
    throw new Error("DKIM public key must be plain base64 (the DER key, no PEM armour or spaces)");
  }
  return `v=DKIM1; k=rsa; p=${publicKeyBase64}`;
}
