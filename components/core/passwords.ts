// Mailbox password hashes for Dovecot's passwd-file.
// We hash with ARGON2ID (hash-wasm: maintained, pure WebAssembly, no native build) at OWASP's
// minimum cost (19 MiB, 2 passes): strong, yet ~80 ms a user so that a preview stays fast.
// The salt is derived from the server and the address, never from the password (a password-derived
// salt would let an attacker test guesses without paying the Argon2 cost), so the same config always
// renders the same bytes and a second preview shows no change.
import { createHash } from "node:crypto";
import { argon2id } from "hash-wasm";

/** Schemes that Dovecot 2.3 on Debian 12 verifies and that we consider strong. */
export const ACCEPTED_HASH_SCHEMES = ["ARGON2ID", "ARGON2I", "SHA512-CRYPT", "BLF-CRYPT"];

export const ARGON2_PARAMS = { memorySize: 19456, iterations: 2, parallelism: 1, hashLength: 32 } as const;

/** The `{SCHEME}` prefix of a Dovecot hash, upper-cased, or undefined when there is none. */
export function hashScheme(hash: string): string | undefined {
  return /^\{([A-Za-z0-9.-]+)\}/.exec(hash)?.[1].toUpperCase();
}

export function saltFor(hostname: string, address: string): Uint8Array {
  return createHash("sha256").update(`mailserver/argon2id-salt\0${hostname}\0${address}`).digest().subarray(0, 16);
}

// A program run renders twice (file list, then contents): remember each hash so Argon2 runs once.
const computed = new Map<string, Promise<string>>();

export function hashPassword(password: string, hostname: string, address: string): Promise<string> {
  const key = JSON.stringify([password, hostname, address]);
  let hash = computed.get(key);
  if (!hash) {
    hash = argon2id({ password, salt: saltFor(hostname, address), ...ARGON2_PARAMS, outputType: "encoded" })
      .then((encoded) => `{ARGON2ID}${encoded}`);
    computed.set(key, hash);
  }
  return hash;
}
