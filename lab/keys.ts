// Real keys for tls.PrivateKey, in the formats the tls provider outputs (the engine's state keeps them).
import { generateKeyPairSync, KeyObject, randomBytes } from "node:crypto";

export interface KeyState {
  algorithm: string;
  privateKeyPem: string;
  privateKeyOpenssh: string;
  publicKeyPem: string;
  publicKeyOpenssh: string;
}

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === "string" ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}
function mpint(b64url: string): Buffer {
  let b = Buffer.from(b64url, "base64url");
  while (b.length > 1 && b[0] === 0 && (b[1] & 0x80) === 0) b = b.subarray(1);
  return sshString(b[0] & 0x80 ? Buffer.concat([Buffer.alloc(1), b]) : b);
}
const wrap64 = (b: Buffer) => b.toString("base64").replace(/(.{70})/g, "$1\n").replace(/\n$/, "");

/** The unencrypted openssh-key-v1 format (PROTOCOL.key), which ssh reads for every key type. */
function opensshEd25519(priv: KeyObject, pub: KeyObject): { privateKey: string; publicKey: string } {
  const jwk = priv.export({ format: "jwk" });
  const seed = Buffer.from(String(jwk.d), "base64url");
  const pubRaw = Buffer.from(String(pub.export({ format: "jwk" }).x), "base64url");
  const pubBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pubRaw)]);
  const check = randomBytes(4);
  let body = Buffer.concat([check, check, sshString("ssh-ed25519"), sshString(pubRaw),
    sshString(Buffer.concat([seed, pubRaw])), sshString("")]);
  const pad = Buffer.from([1, 2, 3, 4, 5, 6, 7].slice(0, (8 - (body.length % 8)) % 8));
  body = Buffer.concat([body, pad]);
  const blob = Buffer.concat([Buffer.from("openssh-key-v1\0"), sshString("none"), sshString("none"), sshString(""),
    Buffer.from([0, 0, 0, 1]), sshString(pubBlob), sshString(body)]);
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${wrap64(blob)}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${pubBlob.toString("base64")}\n`,
  };
}

function rsaOpensshPublic(pub: KeyObject): string {
  const jwk = pub.export({ format: "jwk" });
  const blob = Buffer.concat([sshString("ssh-rsa"), mpint(String(jwk.e)), mpint(String(jwk.n))]);
  return `ssh-rsa ${blob.toString("base64")}\n`;
}

export function generateKey(algorithm: string, rsaBits = 2048, ecdsaCurve = "P224"): KeyState {
  if (algorithm === "ED25519") {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const ssh = opensshEd25519(privateKey, publicKey);
    return {
      algorithm,
      privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      privateKeyOpenssh: ssh.privateKey,
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
      publicKeyOpenssh: ssh.publicKey,
    };
  }
  if (algorithm === "RSA") {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: rsaBits });
    const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    // ssh reads PKCS#1 PEM for RSA; the DKIM keys only use privateKeyPem.
    return { algorithm, privateKeyPem: pem, privateKeyOpenssh: pem,
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), publicKeyOpenssh: rsaOpensshPublic(publicKey) };
  }
  if (algorithm === "ECDSA") {
    // The tls provider writes ECDSA keys as SEC1 ("EC PRIVATE KEY"); only the TLS key uses this kind.
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: ecdsaCurve.replace(/^P/, "P-") });
    const pem = privateKey.export({ type: "sec1", format: "pem" }).toString();
    return { algorithm, privateKeyPem: pem, privateKeyOpenssh: pem,
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), publicKeyOpenssh: "" };
  }
  throw new Error(`the lab does not generate ${algorithm} keys (only ED25519, RSA and ECDSA)`);
}
