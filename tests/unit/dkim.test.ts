import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { dkimPublicKeyBase64, dkimRecordContent } from "../../components/core/dkim";

const pair = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
});

test("the same key from the private PEM (PKCS#1 and PKCS#8) and from the public PEM", () => {
  const fromPrivate = dkimPublicKeyBase64(pair.privateKey);
  const pkcs8 = createPrivateKey(pair.privateKey).export({ type: "pkcs8", format: "pem" }).toString();
  expect(dkimPublicKeyBase64(pkcs8)).toBe(fromPrivate);
  expect(dkimPublicKeyBase64(pair.publicKey)).toBe(fromPrivate);
  // The PEM body of an SPKI public key is exactly the DER in base64.
  expect(fromPrivate).toBe(pair.publicKey.replace(/-----[A-Z ]+-----|\s/g, ""));
});

test("p= verifies signatures made with the private key, and not with another key", () => {
  const p = dkimPublicKeyBase64(pair.privateKey);
  const publicKey = createPublicKey({ key: Buffer.from(p, "base64"), format: "der", type: "spki" });
  const signature = sign("sha256", Buffer.from("message"), pair.privateKey);
  expect(verify("sha256", Buffer.from("message"), publicKey, signature)).toBe(true);
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
  expect(verify("sha256", Buffer.from("message"), other.publicKey, signature)).toBe(false);
});

test("record content", () => {
  expect(dkimRecordContent("AbC+/9==")).toBe("v=DKIM1; k=rsa; p=AbC+/9==");
  expect(() => dkimRecordContent("-----BEGIN PUBLIC KEY-----")).toThrow(/plain base64/);
});

test("refuses non-RSA keys", () => {
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256", publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
  expect(() => dkimPublicKeyBase64(ec.privateKey)).toThrow(/must be RSA/);
});
