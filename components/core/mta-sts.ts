// MTA-STS (RFC 8461): the policy served at https://mta-sts.<domain>/.well-known/mta-sts.txt and the id
// published in _mta-sts.<domain> TXT. Senders re-fetch the policy only when the id changes, so the id is
// a hash of the policy text: it changes exactly when the policy does.
import { createHash } from "node:crypto";
import type { MailStackConfig } from "./config";

export const MTA_STS_MODES = ["testing", "enforce", "none"] as const;
export const MTA_STS_POLICY_PATH = "/.well-known/mta-sts.txt";

export const mtaStsHost = (domain: string): string => `mta-sts.${domain}`;

/** The policy (RFC 8461 §3.2): one for every hosted domain, since they all share our MX. */
export function mtaStsPolicy(config: Pick<MailStackConfig, "hostname" | "mtaSts">): string {
  return [
    "version: STSv1",
    `mode: ${config.mtaSts.mode}`,
    `mx: ${config.hostname}`,
    `max_age: ${config.mtaSts.maxAge}`,
  ].join("\n") + "\n";
}

/** 1–32 alphanumerics (RFC 8461 §3.1): the first 20 hex digits (80 bits) of the policy's SHA-256. */
export function mtaStsId(policy: string): string {
  return createHash("sha256").update(policy, "utf8").digest("hex").slice(0, 20);
}

/** The TXT record's text at _mta-sts.<domain>. */
export function mtaStsRecord(policy: string): string {
  return `v=STSv1; id=${mtaStsId(policy)}`;
}
